//! Where the anchor phrases ([`ANCHORS`]) are in a block, and how many
//! newlines come before a place in it: the scanner's one pass over the
//! bytes it does not decode.
//!
//! On x86-64 with AVX2 (every x86 server since 2013), one SIMD pass finds
//! every phrase and counts newlines together: each 32 bytes are compared
//! at up to three offsets per phrase (`o`,`o`,`m`; `e`,`m`,`y` four bytes
//! on; `K`, `p` seven bytes on), so a byte is loaded once for all phrases
//! and the rare candidate is checked whole. Elsewhere (and for journal
//! JSON, which adds a phrase) memchr's SIMD substring finders search window
//! by window and newlines are counted by a separate pass. Both give the
//! same positions and counts (tests below, on every corpus log and random
//! bytes). On a 256 MiB log without reports the fused pass took the scan
//! from 32 to 22 ms, the read included; AVX-512 was measured too and was
//! no faster (the pass waits on memory), so it is not here.

use super::ANCHORS;
use memchr::memmem::Finder;
use memchr::{memchr, memrchr};

/// Bytes every finder searches before any searches further: small enough
/// for the CPU's L2 cache. (With one pass of each finder over a whole 1 MiB
/// block, a third phrase cost 18 % more time; by windows, three phrases
/// take less than two did.)
const WINDOW: usize = 64 << 10;

/// `journalctl -o json` writes a `MESSAGE` holding a control character or
/// invalid UTF-8 as an array of byte values, where no anchor phrase can be
/// seen: in journal JSON such lines are an anchor of their own (they are
/// rare, and a process can choose such a name to hide its kill).
const JOURNAL_BYTES: &str = "\"MESSAGE\":[";

/// Newlines in `b`.
pub(super) fn count_lines(b: &[u8]) -> u64 {
    // memchr's SIMD search is ~6x faster than a byte loop on log text, but
    // not on the few bytes from a hit to the place after it, which its
    // setup costs more than (once per near miss).
    if b.len() <= 16 {
        return b.iter().filter(|&&c| c == b'\n').count() as u64;
    }
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// A fused search: the first anchor at or after `from` in `data` (or
/// None), and the newlines in `data[from..that or the end]`.
type Fused = fn(&[u8], usize) -> (Option<usize>, u64);

pub(super) struct Anchors {
    /// The CPU has the fused pass's instructions: a hit's line is found
    /// with them too (the few bytes around a hit cost memchr's setup more
    /// than its search).
    vectors: bool,
    /// The fused passes that keep and that drop phrases inside a word,
    /// when the CPU has them and only [`ANCHORS`] are searched for.
    passes: Option<(Fused, Fused)>,
    /// Blocks may drop phrases inside a word (see [`Anchors::new`]).
    prefilter: bool,
    /// This block drops them.
    in_words: bool,
    /// The finders' search (without a fused pass): per finder, its next
    /// hit (usize::MAX: none known), and the position before which it has
    /// no hit that was not already reported.
    finders: Vec<Finder<'static>>,
    next: Vec<usize>,
    upto: Vec<usize>,
    /// The longest phrase, less one: how far a window reaches into the next.
    overlap: usize,
    /// The fused pass's last answer: from where it searched, and its hit
    /// (None: none up to the block's end).
    found: Option<(usize, Option<usize>)>,
    /// Newlines in the block before `nl_to`.
    nl_to: usize,
    nl: u64,
}

impl Anchors {
    /// `prefilter`: blocks may drop the phrases inside a word
    /// ([`Anchors::reset`]); without it (the reference for which every
    /// line with a phrase is decoded) they are all kept.
    pub(super) fn new(prefilter: bool) -> Anchors {
        let passes = fused(false).zip(fused(true));
        let mut a = Anchors {
            passes,
            vectors: passes.is_some(),
            prefilter,
            in_words: false,
            finders: Vec::new(),
            next: Vec::new(),
            upto: Vec::new(),
            overlap: 0,
            found: None,
            nl_to: 0,
            nl: 0,
        };
        for p in ANCHORS {
            a.add(p);
        }
        a
    }

    /// Without the fused pass, whatever the CPU has (to test one against
    /// the other); `prefilter` as for [`Anchors::new`].
    #[cfg(test)]
    fn finders_only(prefilter: bool) -> Anchors {
        Anchors {
            passes: None,
            vectors: false,
            ..Anchors::new(prefilter)
        }
    }

    fn add(&mut self, phrase: &'static str) {
        self.finders.push(Finder::new(phrase.as_bytes()));
        self.next.push(usize::MAX);
        self.upto.push(0);
        self.overlap = self.overlap.max(phrase.len() - 1);
    }

    /// Also stop at `MESSAGE` byte arrays (journal JSON input): a phrase
    /// the fused pass does not know, so the finders search.
    pub(super) fn add_journal_bytes(&mut self) {
        self.add(JOURNAL_BYTES);
        self.passes = None;
    }

    /// A new block; `in_words`: it may drop phrases inside a word (only
    /// where a line skipped changes nothing: a skipped dmesg line dates
    /// nothing, a skipped syslog line dates the year-less times after it).
    pub(super) fn reset(&mut self, in_words: bool) {
        self.in_words = self.prefilter && in_words;
        self.next.iter_mut().for_each(|n| *n = usize::MAX);
        self.upto.iter_mut().for_each(|u| *u = 0);
        self.found = None;
        self.nl_to = 0;
        self.nl = 0;
    }

    /// Newlines in `data` (the block) before `at`.
    pub(super) fn lines_before(&mut self, data: &[u8], at: usize) -> u64 {
        if at >= self.nl_to {
            self.nl += count_lines(&data[self.nl_to..at]);
        } else {
            self.nl -= count_lines(&data[at..self.nl_to]);
        }
        self.nl_to = at;
        self.nl
    }

    /// The block's lines before `at` are `lines` (the scanner counted the
    /// lines it read).
    pub(super) fn lines_are(&mut self, at: usize, lines: u64) {
        self.nl_to = at;
        self.nl = lines;
    }

    /// The first anchor hit at or after `pos`.
    #[inline]
    pub(super) fn next_hit(&mut self, data: &[u8], pos: usize) -> Option<usize> {
        // The last answer holds (a line's later hits were looked for).
        if let (Some(_), Some((from, hit))) = (self.passes, self.found) {
            if from <= pos && hit.is_none_or(|h| pos <= h) {
                return hit;
            }
        }
        self.search(data, pos)
    }

    /// [`Anchors::next_hit`] when the last answer does not hold.
    #[inline(never)]
    fn search(&mut self, data: &[u8], pos: usize) -> Option<usize> {
        let Some(fused) = self
            .passes
            .map(|(plain, words)| if self.in_words { words } else { plain })
        else {
            return self.finders_hit(data, pos);
        };
        self.lines_before(data, pos);
        let (hit, lines) = fused(data, pos);
        self.nl += lines;
        self.nl_to = hit.unwrap_or(data.len());
        self.found = Some((pos, hit));
        hit
    }

    /// Where the line holding `at` begins: after the last newline in
    /// `data[from..at]`, else at `from`.
    pub(super) fn line_start(&self, data: &[u8], from: usize, at: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.vectors {
            return x86::line_start(data, from, at);
        }
        line_start_bytes(data, from, at)
    }

    /// The newline that ends the line holding `at`, or the block's end.
    pub(super) fn line_end(&self, data: &[u8], at: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.vectors {
            return x86::line_end(data, at);
        }
        line_end_bytes(data, at)
    }

    /// [`Anchors::next_hit`] by the finders. They search the block a window
    /// at a time, every finder in one window before any goes on to the
    /// next, so each byte comes from memory once and from the cache for
    /// the other phrases; each remembers its next hit, so no byte is
    /// searched twice by one finder.
    fn finders_hit(&mut self, data: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            match self.finders_first(data, pos) {
                Some(at) if self.in_words && in_word(data, at) => pos = at + 1,
                hit => return hit,
            }
        }
    }

    /// The first hit of any finder at or after `pos`.
    fn finders_first(&mut self, data: &[u8], pos: usize) -> Option<usize> {
        let mut window = pos;
        while window < data.len() {
            let to = (window + WINDOW).min(data.len());
            let reach = (to + self.overlap).min(data.len());
            let mut best = usize::MAX;
            for (i, f) in self.finders.iter().enumerate() {
                if self.next[i] != usize::MAX && self.next[i] >= pos {
                    best = best.min(self.next[i]);
                    continue;
                }
                let from = pos.max(self.upto[i]);
                if from >= to {
                    continue; // searched: no hit before `to`
                }
                match f.find(&data[from..reach]) {
                    Some(j) => {
                        self.next[i] = from + j;
                        self.upto[i] = from + j;
                        best = best.min(from + j);
                    }
                    None => {
                        self.next[i] = usize::MAX;
                        self.upto[i] = to;
                    }
                }
            }
            // Every finder has searched up to `to`: a hit before it is the
            // first; one after it may still be beaten in the next window.
            if best < to {
                return Some(best);
            }
            window = to;
        }
        None
    }
}

/// The fused pass, if this CPU can run it.
fn fused(in_words: bool) -> Option<Fused> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("popcnt") && has!("bmi1") && has!("lzcnt") {
            return Some(if in_words {
                x86::avx2::<true>
            } else {
                x86::avx2::<false>
            });
        }
    }
    None
}

/// [`Anchors::line_start`] by memchr (and the vectors' fallback).
fn line_start_bytes(data: &[u8], from: usize, at: usize) -> usize {
    memrchr(b'\n', &data[from..at]).map_or(from, |i| from + i + 1)
}

/// [`Anchors::line_end`] by memchr (and the vectors' fallback).
fn line_end_bytes(data: &[u8], at: usize) -> usize {
    memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i)
}

/// Whether an anchor phrase begins at `at` in `data` (and, `IN_WORDS`,
/// is not one inside a word).
fn anchor_at<const IN_WORDS: bool>(data: &[u8], at: usize) -> bool {
    let rest = &data[at..];
    ANCHORS.iter().any(|p| rest.starts_with(p.as_bytes())) && !(IN_WORDS && in_word(data, at))
}

/// Whether the phrase at `at` is one inside a word ([`oom_in_word`],
/// [`emory_in_word`]).
fn in_word(data: &[u8], at: usize) -> bool {
    oom_in_word(data, at) || emory_in_word(data, at)
}

/// Whether `data` holds at `at` an `oom` that is no anchor: inside a word
/// where no kernel line has it (`bloom`, `zoom`, `systemd-oomd`, `(room`).
/// The kernel's own are kept: `oom-` (the header, `oom-kill:`), `oom_`
/// (`oom_reaper`, `oom_kill_process`, `oom_score_adj`), `oom.g`
/// (`memory.oom.group`), `_oom` of a frame, and any after a blank
/// (`invoked oom`, 2.6's `oomkilladj`); so is every `oom` at a line's
/// start or end or the data's (a wrap may have cut a phrase there). Such a
/// word alone would be skipped as a near miss anyway (every `oom` dropped
/// is one [`super::phrase_matters`] skips: test
/// `a_phrase_in_a_word_never_matters`); dropped where the pass finds it,
/// its line costs what any other line costs instead of being stopped at
/// and judged. So a line with no phrase but such a word (`Task in
/// /kubepods/oomer …` outside a report) is not looked at, as the same line
/// without the word is not. Only with the prefilter, in blocks of an input
/// known to be dmesg ([`Anchors::reset`]).
#[inline(always)]
pub(super) fn oom_in_word(data: &[u8], at: usize) -> bool {
    if data.get(at..at + 3) != Some(b"oom") {
        return false;
    }
    let after = match data.get(at + 3..at + 5) {
        Some(&[b'.', next]) => !matches!(next, b'g' | b'\n' | b'\r'),
        Some(&[c, _]) => !matches!(c, b'-' | b'_' | b'\n' | b'\r'),
        _ => false,
    };
    // After a blank it may begin a word of the kernel's: `invoked oom`,
    // 2.6's `oomkilladj=` (the only `oom` left of a header wrapped inside
    // `oom-killer`), a frame after a mail quote's `> `.
    let before = match at.checked_sub(1).map(|b| data[b]) {
        Some(c) => !matches!(c, b' ' | b'_' | b'\n' | b'\r'),
        None => false,
    };
    after && before
}

/// Whether `data` holds at `at` an `emory` that is no anchor: a word
/// `memory` where no kernel line has one (`Memory: 16318048K/…`, `memory
/// block size`, `reclaim memory` mid-line, `memory.events`). The kernel's
/// are kept, read as [`super::phrase_matters`] reads them: `memory:
/// usage`, `memory+swap`, `Memory cgroup`, `memory values`, and every
/// `memory` after `same `, `on `, `out_of_` or `out of ` (frames, the kill
/// and selection prefixes, panics); so is any at a line's or the data's
/// edge, or with fewer than 8 bytes after it or 9 before it in the data.
#[inline(always)]
pub(super) fn emory_in_word(data: &[u8], at: usize) -> bool {
    // Read as words (compares of known sizes, no call: this runs inside
    // the pass, whose vector constants a call would make it reload).
    let (Some(tail), Some(lead)) = (data.get(at + 5..at + 13), at.checked_sub(9).map(|l| &data[l..at - 1])) else {
        return false;
    };
    if data.get(at..at + 5) != Some(b"emory") || matches!(data[at - 1], b'\n' | b'\r') {
        return false;
    }
    // The 8 bytes after the phrase, the first lowest; the 8 before its
    // `m`, the last highest. A line's end among them may have cut a
    // phrase (`memory:` / ` usage …`): kept.
    let tail = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
    let lead = u64::from_le_bytes(lead.try_into().expect("8 bytes"));
    // So may a mail quote's `>` (a wrapped `Out of` / `> memory …`).
    let cut = has_byte(tail, b'\n')
        | has_byte(tail, b'\r')
        | has_byte(lead, b'\n')
        | has_byte(lead, b'\r')
        | has_byte(lead, b'>');
    let kernel_tail =
        starts(tail, b": usage") | starts(tail, b"+swap") | starts(tail, b" cgroup") | starts(tail, b" values");
    let kernel_lead = ends(lead, b"same ") | ends(lead, b"on ") | ends(lead, b"ut_of_") | ends(lead, b"ut of ");
    !cut & !kernel_tail & !kernel_lead
}

/// Whether a byte of `w` is `b` (the zero-byte test of the bytes of
/// `w ^ b…b`: exact for whether there is one).
#[inline(always)]
fn has_byte(w: u64, b: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & (ONES << 7) != 0
}

/// The word `w` (bytes in order from its low end) starts with `p`.
#[inline(always)]
fn starts<const N: usize>(w: u64, p: &[u8; N]) -> bool {
    w & (u64::MAX >> (64 - 8 * N)) == le_word(p)
}

/// The word `w` (bytes in order, the last at its high end) ends with `p`.
#[inline(always)]
fn ends<const N: usize>(w: u64, p: &[u8; N]) -> bool {
    w >> (64 - 8 * N) == le_word(p)
}

/// The bytes of `p` (at most 8) as a little-endian word.
const fn le_word<const N: usize>(p: &[u8; N]) -> u64 {
    let mut w = 0;
    let mut i = 0;
    while i < N {
        w |= (p[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// The longest anchor phrase (`Killed process`), less one: bytes a
/// candidate needs after it.
const REACH: usize = ANCHORS[2].len() - 1;

/// The fused search byte by byte, for the last bytes of a block (fewer
/// than a vector and [`REACH`] bytes).
fn tail<const IN_WORDS: bool>(data: &[u8], from: usize) -> (Option<usize>, u64) {
    let mut lines = 0;
    for (at, &b) in data.iter().enumerate().skip(from) {
        if matches!(b, b'o' | b'e' | b'K') && anchor_at::<IN_WORDS>(data, at) {
            return (Some(at), lines);
        }
        lines += u64::from(b == b'\n');
    }
    (None, lines)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The fused pass in AVX2. Each step loads the 32 bytes at `i`, `i+1`,
    //! `i+2`, `i+4` and `i+7` (unaligned loads, all inside `data`: a step
    //! runs only while a vector and [`REACH`] bytes remain)
    //! and marks the positions where `oom` (o, o, m), `emory` (e, m, y at
    //! +4) or `Killed process` (K, p at +7) may begin; a marked position
    //! is checked whole (`oom` is whole already).
    use super::{emory_in_word, line_end_bytes, line_start_bytes, oom_in_word, tail, REACH};
    use std::arch::x86_64::*;

    /// The first mark of `mask` (a step's marks, bit k for `i + k`) where
    /// a phrase does begin, with the newlines before it in `nl` (the
    /// step's newline bits).
    #[inline(always)]
    fn first<const IN_WORDS: bool>(data: &[u8], i: usize, mut mask: u32, nl: u32) -> Option<(usize, u64)> {
        while mask != 0 {
            let k = mask.trailing_zeros();
            let at = i + k as usize;
            // The byte a mark stands on says which phrase marked it: `o`
            // only `oom`, whose three bytes were all compared (an anchor
            // unless inside a word); `e` only `emory`, whose `e`, `m` and
            // `y` were.
            let whole = match data[at] {
                b'o' => !(IN_WORDS && oom_in_word(data, at)),
                b'e' => data[at + 2..at + 4] == *b"or" && !(IN_WORDS && emory_in_word(data, at)),
                // (Compared here: a call in this loop would make the
                // compiler reload its vector constants at every step.)
                _ => data[at..at + 14] == *b"Killed process",
            };
            if whole {
                return Some((at, u64::from((nl & ((1u32 << k) - 1)).count_ones())));
            }
            mask &= mask - 1;
        }
        None
    }

    /// [`Anchors::line_start`]: the 64 bytes before `at` in one mask
    /// (most hits are that close to their line's start), then memrchr.
    pub(super) fn line_start(data: &[u8], from: usize, at: usize) -> usize {
        // SAFETY: used only where the CPU has AVX2 and LZCNT (`fused`).
        unsafe { line_start_impl(data, from, at) }
    }

    /// [`Anchors::line_end`]: the 128 bytes from `at` in two masks (most
    /// lines end that soon after a hit), then memchr.
    pub(super) fn line_end(data: &[u8], at: usize) -> usize {
        // SAFETY: used only where the CPU has AVX2 and BMI1 (`fused`).
        unsafe { line_end_impl(data, at) }
    }

    /// The newline bits of the 64 bytes at `i` (all inside `data`).
    #[target_feature(enable = "avx2")]
    unsafe fn newlines64(data: &[u8], i: usize) -> u64 {
        let nl = _mm256_set1_epi8(b'\n' as i8);
        // SAFETY: the caller keeps i + 64 <= data.len().
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(data.as_ptr().add(i).cast()),
                _mm256_loadu_si256(data.as_ptr().add(i + 32).cast()),
            )
        };
        let lo = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, nl)) as u32;
        let hi = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, nl)) as u32;
        u64::from(lo) | u64::from(hi) << 32
    }

    #[target_feature(enable = "avx2,lzcnt")]
    unsafe fn line_start_impl(data: &[u8], from: usize, at: usize) -> usize {
        let at = at.min(data.len());
        if at >= from + 64 {
            // SAFETY: at - 64 + 64 <= data.len().
            let m = unsafe { newlines64(data, at - 64) };
            if m != 0 {
                return at - 64 + (63 - m.leading_zeros()) as usize + 1;
            }
            return line_start_bytes(data, from, at - 64);
        }
        line_start_bytes(data, from, at)
    }

    #[target_feature(enable = "avx2,bmi1")]
    unsafe fn line_end_impl(data: &[u8], at: usize) -> usize {
        let mut i = at;
        for _ in 0..2 {
            if i + 64 > data.len() {
                break;
            }
            // SAFETY: i + 64 <= data.len().
            let m = unsafe { newlines64(data, i) };
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 64;
        }
        line_end_bytes(data, i.min(data.len()))
    }

    pub(super) fn avx2<const IN_WORDS: bool>(data: &[u8], from: usize) -> (Option<usize>, u64) {
        // SAFETY: chosen only where the CPU has AVX2, POPCNT, BMI1 and
        // LZCNT (`fused`).
        unsafe { avx2_impl::<IN_WORDS>(data, from) }
    }

    #[target_feature(enable = "avx2,popcnt,bmi1")]
    unsafe fn avx2_impl<const IN_WORDS: bool>(data: &[u8], from: usize) -> (Option<usize>, u64) {
        let p = data.as_ptr();
        let (nl, o, m, e, y, k, pp) = (
            _mm256_set1_epi8(b'\n' as i8),
            _mm256_set1_epi8(b'o' as i8),
            _mm256_set1_epi8(b'm' as i8),
            _mm256_set1_epi8(b'e' as i8),
            _mm256_set1_epi8(b'y' as i8),
            _mm256_set1_epi8(b'K' as i8),
            _mm256_set1_epi8(b'p' as i8),
        );
        let mut lines = 0;
        let mut i = from;
        while i + 32 + REACH <= data.len() {
            // SAFETY: i + 7 + 32 <= data.len(): every load is inside data.
            let (v0, v1, v2, v4, v7) = unsafe {
                (
                    _mm256_loadu_si256(p.add(i).cast()),
                    _mm256_loadu_si256(p.add(i + 1).cast()),
                    _mm256_loadu_si256(p.add(i + 2).cast()),
                    _mm256_loadu_si256(p.add(i + 4).cast()),
                    _mm256_loadu_si256(p.add(i + 7).cast()),
                )
            };
            let eq = |a, b| _mm256_cmpeq_epi8(a, b);
            let and = |a, b| _mm256_and_si256(a, b);
            let newlines = _mm256_movemask_epi8(eq(v0, nl)) as u32;
            let oom = and(and(eq(v0, o), eq(v1, o)), eq(v2, m));
            let emory = and(and(eq(v0, e), eq(v1, m)), eq(v4, y));
            let killed = and(eq(v0, k), eq(v7, pp));
            let marks = _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(oom, emory), killed)) as u32;
            if marks != 0 {
                if let Some((at, before)) = first::<IN_WORDS>(data, i, marks, newlines) {
                    return (Some(at), lines + before);
                }
            }
            lines += u64::from(newlines.count_ones());
            i += 32;
        }
        let (hit, more) = tail::<IN_WORDS>(data, i);
        (hit, lines + more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hit of `a` from 0 on, as the scanner asks (each from the one
    /// before, plus one), with the newlines before each.
    /// `jump`: also go on from further on, some hits passed (as the
    /// scanner does after a line it read, or the report it read), the
    /// lines before there given as the scanner counts them.
    fn hits(a: &mut Anchors, data: &[u8], jump: bool, in_words: bool) -> Vec<(usize, u64)> {
        a.reset(in_words);
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(h) = a.next_hit(data, pos) {
            out.push((h, a.lines_before(data, h)));
            pos = h + 1;
            if jump && h % 3 == 0 {
                pos = (h + 1 + h % 251).min(data.len());
                a.lines_are(pos, count_lines(&data[..pos]));
            }
        }
        out.push((data.len(), a.lines_before(data, data.len())));
        out
    }

    /// The fused passes find what the finders find, on every corpus log
    /// and on random bytes rich in the phrases' letters, from every
    /// alignment (each input is also searched without its first k bytes).
    #[test]
    fn fused_passes_agree_with_the_finders() {
        let mut inputs: Vec<Vec<u8>> = crate::corpus_files()
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"oemyrKilledprocs \n-_.gv\r>k:";
        for len in [0, 1, 13, 14, 63, 64, 77, 78, 200, 4097] {
            let mut v = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            for phrase in ANCHORS {
                if v.len() > phrase.len() + 3 {
                    let at = (seed as usize) % (v.len() - phrase.len());
                    v[at..at + phrase.len()].copy_from_slice(phrase.as_bytes());
                    let end = v.len() - phrase.len();
                    v[end..].copy_from_slice(phrase.as_bytes());
                }
            }
            inputs.push(v);
        }
        let mut checked = 0;
        for in_words in [false, true] {
            let mut passes: Vec<(&str, Fused)> = fused(in_words).map(|pass| ("avx2", pass)).into_iter().collect();
            passes.push(("bytes", if in_words { tail::<true> } else { tail::<false> }));
            let mut finders = Anchors::finders_only(in_words);
            for input in &inputs {
                for skip in [0, 1, 7, 31, 33, 63] {
                    let data = &input[skip.min(input.len())..];
                    for jump in [false, true] {
                        let want = hits(&mut finders, data, jump, in_words);
                        for (name, pass) in &passes {
                            let mut fused = Anchors::new(true);
                            fused.passes = Some((*pass, *pass));
                            assert_eq!(
                                hits(&mut fused, data, jump, in_words),
                                want,
                                "{name}, {} bytes",
                                data.len()
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1200, "{checked}");
    }

    /// A hit's line is found alike by vectors and by memchr, at every
    /// position of lines of many lengths and from every lower bound.
    #[test]
    fn line_bounds_agree_with_memchr() {
        let mut data = Vec::new();
        for n in [0, 1, 5, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129, 200, 0, 0, 3] {
            data.extend(std::iter::repeat_n(b'x', n));
            data.push(b'\n');
        }
        data.extend_from_slice(b"no newline at the end");
        let vectors = Anchors::new(true);
        let plain = Anchors::finders_only(true);
        for at in 0..=data.len() {
            for from in [
                0,
                at.saturating_sub(1),
                at.saturating_sub(33),
                at.saturating_sub(70),
                at,
            ] {
                assert_eq!(
                    vectors.line_start(&data, from, at),
                    plain.line_start(&data, from, at),
                    "{from}..{at}"
                );
            }
            assert_eq!(vectors.line_end(&data, at), plain.line_end(&data, at), "{at}");
        }
    }

    /// Newlines counted forward and back, between hits and around them,
    /// agree with a plain count.
    #[test]
    fn lines_before_any_place() {
        let data = b"a oom\nb\n\nc emory x\nKilled process 1\n".repeat(40);
        let mut a = Anchors::new(true);
        a.reset(true);
        let mut pos = 0;
        while let Some(h) = a.next_hit(&data, pos) {
            for at in [h, h.saturating_sub(5), (h + 9).min(data.len()), h.saturating_sub(70)] {
                assert_eq!(a.lines_before(&data, at), count_lines(&data[..at]), "at {at}");
            }
            pos = h + 1;
        }
    }
}
