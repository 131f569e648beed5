// wink-porter2-stemmer ships no types: one function, the Snowball English (Porter2) stemmer.
declare module 'wink-porter2-stemmer' {
  export default function stem(word: string): string
}
