// The kernel (mountinfo) and getmntent (fstab) write awkward bytes as a backslash and three octal digits.

/** Decode `\ooo` escapes (value ≤ 0o377); any other backslash is kept literally, as the kernel never writes one. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-3][0-7]{2})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Encode every character in `chars` (and the backslash) as `\ooo`. */
export function escapeOctal(s: string, chars: string): string {
  let out = '';
  for (const ch of s) {
    out += ch === '\\' || chars.includes(ch) ? '\\' + ch.charCodeAt(0).toString(8).padStart(3, '0') : ch;
  }
  return out;
}
