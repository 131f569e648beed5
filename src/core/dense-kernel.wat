;; The fine step's inner loop: for every int8 row r of a shard,
;;   out[r] = (Σ_d q[d] · v[r·dims + d]) · scales[r]
;; with q as float64 (the float32 query, widened exactly), in float64 arithmetic.
;; The sum is taken in one fixed order, so every caller gets the same bits:
;; four running sums s0..s3 over d mod 4 (the f64x2 pair A holds s0, s1 and B
;; holds s2, s3), 16 dimensions a step while they last, then 4, then the last
;; dims mod 4 into s0, and ((s0 + s1) + s2) + s3. No fused multiply-add.
;; Compiled to dense-kernel.wasm by `npm run kernel` (wabt); a test checks the
;; two agree.
(module
  (memory (export "memory") 1)
  (func (export "scoreRows") (param $q i32) (param $v i32) (param $scales i32) (param $out i32) (param $rows i32) (param $dims i32)
    (local $r i32) (local $d i32) (local $row i32) (local $end16 i32) (local $end4 i32)
    (local $A v128) (local $B v128) (local $x v128) (local $lo v128) (local $hi v128) (local $w v128)
    (local $s0 f64)
    (local.set $end16 (i32.and (local.get $dims) (i32.const -16)))
    (local.set $end4 (i32.and (local.get $dims) (i32.const -4)))
    (block $done (loop $rowloop
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $row (i32.add (local.get $v) (i32.mul (local.get $r) (local.get $dims))))
      (local.set $A (f64x2.splat (f64.const 0)))
      (local.set $B (f64x2.splat (f64.const 0)))
      (local.set $d (i32.const 0))
      (block $d16done (loop $d16
        (br_if $d16done (i32.ge_u (local.get $d) (local.get $end16)))
        (local.set $x (v128.load (i32.add (local.get $row) (local.get $d))))
        (local.set $lo (i16x8.extend_low_i8x16_s (local.get $x)))
        (local.set $hi (i16x8.extend_high_i8x16_s (local.get $x)))
        ;; elements 0..3
        (local.set $w (i32x4.extend_low_i16x8_s (local.get $lo)))
        (local.set $A (f64x2.add (local.get $A) (f64x2.mul (v128.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (local.get $w)))))
        (local.set $B (f64x2.add (local.get $B) (f64x2.mul (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        ;; 4..7
        (local.set $w (i32x4.extend_high_i16x8_s (local.get $lo)))
        (local.set $A (f64x2.add (local.get $A) (f64x2.mul (v128.load offset=32 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (local.get $w)))))
        (local.set $B (f64x2.add (local.get $B) (f64x2.mul (v128.load offset=48 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        ;; 8..11
        (local.set $w (i32x4.extend_low_i16x8_s (local.get $hi)))
        (local.set $A (f64x2.add (local.get $A) (f64x2.mul (v128.load offset=64 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (local.get $w)))))
        (local.set $B (f64x2.add (local.get $B) (f64x2.mul (v128.load offset=80 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        ;; 12..15
        (local.set $w (i32x4.extend_high_i16x8_s (local.get $hi)))
        (local.set $A (f64x2.add (local.get $A) (f64x2.mul (v128.load offset=96 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (local.get $w)))))
        (local.set $B (f64x2.add (local.get $B) (f64x2.mul (v128.load offset=112 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $d16)))
      (block $d4done (loop $d4
        (br_if $d4done (i32.ge_u (local.get $d) (local.get $end4)))
        (local.set $w (i32x4.extend_low_i16x8_s (i16x8.extend_low_i8x16_s (v128.load32_zero (i32.add (local.get $row) (local.get $d))))))
        (local.set $A (f64x2.add (local.get $A) (f64x2.mul (v128.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (local.get $w)))))
        (local.set $B (f64x2.add (local.get $B) (f64x2.mul (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64x2.convert_low_i32x4_s (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br $d4)))
      (local.set $s0 (f64x2.extract_lane 0 (local.get $A)))
      (block $d1done (loop $d1
        (br_if $d1done (i32.ge_u (local.get $d) (local.get $dims)))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (f64.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 3)))) (f64.convert_i32_s (i32.load8_s (i32.add (local.get $row) (local.get $d)))))))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $d1)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3)))
        (f64.mul
          (f64.add (f64.add (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $A))) (f64x2.extract_lane 0 (local.get $B))) (f64x2.extract_lane 1 (local.get $B)))
          (f64.promote_f32 (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2)))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowloop)))
  )
)
