;; Lexical routing's merge (LeafDocuments.leafScores, lexical.ts), in WebAssembly:
;; the query terms' posting lists, copied in, merged leaf by leaf; each leaf's best
;; document sum of factor × weight, in the order lexical.ts states (terms in query
;; order, postings in list order), in float64 with no fused multiply-add, so every
;; caller gets the bits of the JavaScript it replaced (a test keeps that as its
;; reference). A leaf at or past 0x3fffffff ends a list; a row at or past its leaf's
;; document count, or a leaf past the tree, is skipped (a corrupt part).
;; Compiled to lexical-kernel.wasm by `npm run kernel` (wabt); a test checks the two agree.
(module
  (memory (export "memory") 1)
  (func (export "leafScores")
    (param $n i32) (param $atP i32) (param $endP i32) (param $nextP i32) (param $facP i32)
    (param $leavesP i32) (param $rowsP i32) (param $wP i32)
    (param $docsP i32) (param $nodes i32) (param $tableP i32)
    (param $sumsP i32) (param $touchedP i32) (param $scoreP i32) (param $reachedP i32)
    (result i32)
    (local $size i32) (local $leaf i32) (local $holders i32) (local $only i32) (local $i i32)
    (local $nx i32) (local $rowsOfLeaf i32) (local $best f64) (local $p i32) (local $end i32)
    (local $f f64) (local $row i32) (local $s f64) (local $count i32) (local $t i32) (local $sp i32)
    (block $finished (loop $leaves
      ;; the smallest next leaf among the lists, and how many lists hold it
      (local.set $leaf (i32.const 0x3fffffff))
      (local.set $holders (i32.const 0))
      (local.set $only (i32.const 0))
      (local.set $i (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $nx (i32.load (i32.add (local.get $nextP) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.lt_u (local.get $nx) (local.get $leaf))
          (then (local.set $leaf (local.get $nx)) (local.set $holders (i32.const 1)) (local.set $only (local.get $i)))
          (else (if (i32.eq (local.get $nx) (local.get $leaf)) (then (local.set $holders (i32.add (local.get $holders) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (br_if $finished (i32.eq (local.get $leaf) (i32.const 0x3fffffff)))
      (local.set $rowsOfLeaf
        (if (result i32) (i32.lt_u (local.get $leaf) (local.get $nodes))
          (then (i32.load (i32.add (local.get $docsP) (i32.shl (local.get $leaf) (i32.const 2)))))
          (else (i32.const 0))))
      (local.set $best (f64.const 0))
      (if (i32.eq (local.get $holders) (i32.const 1))
        (then
          (local.set $i (local.get $only))
          (local.set $p (i32.load (i32.add (local.get $atP) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $end (i32.load (i32.add (local.get $endP) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $f (f64.load (i32.add (local.get $facP) (i32.shl (local.get $i) (i32.const 3)))))
          (block $d1 (loop $l1
            (br_if $d1 (i32.ge_u (local.get $p) (local.get $end)))
            (br_if $d1 (i32.ne (i32.load (i32.add (local.get $leavesP) (i32.shl (local.get $p) (i32.const 2)))) (local.get $leaf)))
            (local.set $row (i32.load (i32.add (local.get $rowsP) (i32.shl (local.get $p) (i32.const 2)))))
            (if (i32.lt_u (local.get $row) (local.get $rowsOfLeaf))
              (then
                (local.set $s (f64.mul (local.get $f) (f64.load (i32.add (local.get $tableP) (i32.shl (i32.load8_u (i32.add (local.get $wP) (local.get $p))) (i32.const 3))))))
                (if (f64.gt (local.get $s) (local.get $best)) (then (local.set $best (local.get $s))))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $l1)))
          (call $advance (local.get $i) (local.get $p) (local.get $atP) (local.get $endP) (local.get $nextP) (local.get $leavesP)))
        (else
          (local.set $count (i32.const 0))
          (local.set $i (i32.const 0))
          (block $d2 (loop $l2
            (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.eq (i32.load (i32.add (local.get $nextP) (i32.shl (local.get $i) (i32.const 2)))) (local.get $leaf))
              (then
                (local.set $p (i32.load (i32.add (local.get $atP) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $end (i32.load (i32.add (local.get $endP) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $f (f64.load (i32.add (local.get $facP) (i32.shl (local.get $i) (i32.const 3)))))
                (block $d3 (loop $l3
                  (br_if $d3 (i32.ge_u (local.get $p) (local.get $end)))
                  (br_if $d3 (i32.ne (i32.load (i32.add (local.get $leavesP) (i32.shl (local.get $p) (i32.const 2)))) (local.get $leaf)))
                  (local.set $row (i32.load (i32.add (local.get $rowsP) (i32.shl (local.get $p) (i32.const 2)))))
                  (if (i32.lt_u (local.get $row) (local.get $rowsOfLeaf))
                    (then
                      (local.set $sp (i32.add (local.get $sumsP) (i32.shl (local.get $row) (i32.const 3))))
                      ;; Rows are touched when their sum is 0 before an add: the caller gives touched
                      ;; room for every posting of the query, so repeats cannot run past it.
                      (if (f64.eq (f64.load (local.get $sp)) (f64.const 0))
                        (then
                          (i32.store (i32.add (local.get $touchedP) (i32.shl (local.get $count) (i32.const 2))) (local.get $row))
                          (local.set $count (i32.add (local.get $count) (i32.const 1)))))
                      (f64.store (local.get $sp) (f64.add (f64.load (local.get $sp))
                        (f64.mul (local.get $f) (f64.load (i32.add (local.get $tableP) (i32.shl (i32.load8_u (i32.add (local.get $wP) (local.get $p))) (i32.const 3)))))))))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (br $l3)))
                (call $advance (local.get $i) (local.get $p) (local.get $atP) (local.get $endP) (local.get $nextP) (local.get $leavesP))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l2)))
          (local.set $t (i32.const 0))
          (block $d4 (loop $l4
            (br_if $d4 (i32.ge_u (local.get $t) (local.get $count)))
            (local.set $sp (i32.add (local.get $sumsP) (i32.shl (i32.load (i32.add (local.get $touchedP) (i32.shl (local.get $t) (i32.const 2)))) (i32.const 3))))
            (if (f64.gt (f64.load (local.get $sp)) (local.get $best)) (then (local.set $best (f64.load (local.get $sp)))))
            (f64.store (local.get $sp) (f64.const 0))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $l4)))))
      ;; best > 0 only for a leaf of the tree (leaf < nodes); lists out of (leaf, row) order,
      ;; which the codec refuses, could name one twice: reached keeps its first `nodes`.
      (if (f64.gt (local.get $best) (f64.const 0))
        (then
          (f64.store (i32.add (local.get $scoreP) (i32.shl (local.get $leaf) (i32.const 3))) (local.get $best))
          (if (i32.lt_u (local.get $size) (local.get $nodes))
            (then
              (i32.store (i32.add (local.get $reachedP) (i32.shl (local.get $size) (i32.const 2))) (local.get $leaf))
              (local.set $size (i32.add (local.get $size) (i32.const 1)))))))
      (br $leaves)))
    (local.get $size))
  ;; list i now starts at p: its next leaf, or past every leaf at its end
  (func $advance (param $i i32) (param $p i32) (param $atP i32) (param $endP i32) (param $nextP i32) (param $leavesP i32)
    (local $nx i32)
    (i32.store (i32.add (local.get $atP) (i32.shl (local.get $i) (i32.const 2))) (local.get $p))
    (local.set $nx (i32.const 0x3fffffff))
    (if (i32.lt_u (local.get $p) (i32.load (i32.add (local.get $endP) (i32.shl (local.get $i) (i32.const 2)))))
      (then
        (local.set $nx (i32.load (i32.add (local.get $leavesP) (i32.shl (local.get $p) (i32.const 2)))))
        (if (i32.gt_u (local.get $nx) (i32.const 0x3fffffff)) (then (local.set $nx (i32.const 0x3fffffff))))))
    (i32.store (i32.add (local.get $nextP) (i32.shl (local.get $i) (i32.const 2))) (local.get $nx)))
)
