// Hangul to ASCII for ids: Revised Romanization of Korean, syllable by syllable, with the common
// sound changes at syllable joins (a final carried over to a following ㅇ-initial syllable, and
// nasal/lateral assimilation before ㄴ ㄹ ㅁ: 신림 sillim, 종로 jongno, 왕십리 wangsimni).
// Good enough for stable, readable ids; the Korean name is always kept beside them.

const INITIAL = ['g', 'kk', 'n', 'd', 'tt', 'r', 'm', 'b', 'pp', 's', 'ss', '', 'j', 'jj', 'ch', 'k', 't', 'p', 'h'];
const MEDIAL = ['a', 'ae', 'ya', 'yae', 'eo', 'e', 'yeo', 'ye', 'o', 'wa', 'wae', 'oe', 'yo', 'u', 'wo', 'we', 'wi', 'yu', 'eu', 'ui', 'i'];
const FINAL = ['', 'k', 'k', 'k', 'n', 'n', 'n', 't', 'l', 'k', 'm', 'l', 'l', 'l', 'p', 'l', 'm', 'p', 'p', 't', 't', 'ng', 't', 't', 'k', 't', 'p', 't'];
// Finals as they sound before a vowel (ㅇ initial): 석유 -> seogyu
const FINAL_BEFORE_VOWEL = ['', 'g', 'kk', 'ks', 'n', 'nj', 'nh', 'd', 'r', 'lg', 'lm', 'lb', 'ls', 'lt', 'lp', 'lh', 'm', 'b', 'bs', 's', 'ss', 'ng', 'j', 'ch', 'k', 't', 'p', 'h'];

// Final consonant group (by its plain sound) for the assimilation rules below.
const FINAL_SOUND = FINAL; // k, n, t, l, m, p, ng, ''

export function romanize(text) {
  let out = '';
  const chars = [...text];
  const syl = (c) => {
    const code = c === undefined ? 0 : c.codePointAt(0);
    if (code < 0xac00 || code > 0xd7a3) return null;
    const s = code - 0xac00;
    return { ini: Math.floor(s / 588), med: Math.floor((s % 588) / 28), fin: s % 28 };
  };
  let carry = null; // initial sound forced by the previous syllable's final
  for (let i = 0; i < chars.length; i++) {
    const cur = syl(chars[i]);
    if (!cur) { out += chars[i]; carry = null; continue; }
    out += (carry ?? INITIAL[cur.ini]) + MEDIAL[cur.med];
    carry = null;
    const nxt = syl(chars[i + 1]);
    let fin = FINAL[cur.fin];
    if (nxt) {
      const f = FINAL_SOUND[cur.fin];
      const n = nxt.ini; // 2 ㄴ, 5 ㄹ, 6 ㅁ, 11 ㅇ
      if (n === 11 && cur.fin !== 21) {
        fin = FINAL_BEFORE_VOWEL[cur.fin];
      } else if (n === 5) { // ㄹ after a final
        if (f === 'n' || f === 'l') { fin = 'l'; carry = 'l'; }              // 신림 sillim, 설릉 seolleung
        else if (f === 'ng' || f === 'm') { carry = 'n'; }                  // 종로 jongno
        else if (f === 'k') { fin = 'ng'; carry = 'n'; }                    // 독립 dongnip
        else if (f === 'p') { fin = 'm'; carry = 'n'; }                     // 십리 simni
        else if (f === 't') { fin = 'n'; carry = 'n'; }
      } else if (n === 2 || n === 6) { // ㄴ ㅁ after a final
        if (f === 'k') fin = 'ng';                                          // 학문 hangmun
        else if (f === 'p') fin = 'm';                                      // 합니 hamni
        else if (f === 't') fin = 'n';
        else if (f === 'l' && n === 2) carry = 'l';                          // 설날 seollal
      }
    }
    out += fin;
  }
  return out;
}

// An id fragment: romanized, lower case, runs of anything else than [a-z0-9] as one '-'.
export function slug(text) {
  return romanize(text).toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}
