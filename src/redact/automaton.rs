//! A byte-level Aho-Corasick automaton that exposes what the streaming
//! redactor needs and general-purpose crates do not: the depth of every
//! state, i.e. the length of the longest suffix of the input seen so far
//! that is a prefix of some pattern. That suffix is exactly what must be
//! held back, because it could still become a match.
//!
//! Matching is ASCII case-insensitive for every pattern: rule keywords are
//! case-insensitive by definition, and for known values a case variant is
//! masked too, which over-masks but never under-masks.
//!
//! Transitions are sparse (sorted per state) with a dense table at the
//! root, where almost all bytes of ordinary output are handled, so memory
//! stays proportional to the total length of the patterns.

/// What a rule keyword occurrence means for holding back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnchorInfo {
    /// Length of the (longest) keyword ending here.
    pub keyword_len: u32,
    /// Bytes from the keyword's start within which a match containing it
    /// must end.
    pub reach: u32,
    /// Whether some rule anchored here can match across a newline.
    pub multi_line: bool,
}

/// A pattern to compile.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A literal to mask, with the index of the name it is reported under.
    Needle { bytes: Vec<u8>, label: u32 },
    /// A rule keyword: its occurrence starts a held region.
    Anchor { bytes: Vec<u8>, info: AnchorInfo },
}

const NONE: u32 = u32::MAX;

#[derive(Debug)]
pub struct Automaton {
    /// Full 256-entry rows for the root and the states one byte deep,
    /// where ordinary text spends nearly all its time.
    dense: Vec<u32>,
    /// States `0..=dense_states` have dense rows, at `state * 256`.
    dense_states: u32,
    /// Per state: whether a needle or anchor ends here.
    interesting: Vec<bool>,
    /// Transitions of state `s` are `trans_*[trans_start[s]..trans_start[s + 1]]`.
    trans_start: Vec<u32>,
    trans_bytes: Vec<u8>,
    trans_next: Vec<u32>,
    fail: Vec<u32>,
    depth: Vec<u32>,
    /// Length of the longest needle that is a suffix of the state's string.
    match_len: Vec<u32>,
    match_label: Vec<u32>,
    /// Index into `anchors`, or NONE.
    anchor: Vec<u32>,
    anchors: Vec<AnchorInfo>,
    max_needle_len: usize,
}

impl Automaton {
    pub fn new(patterns: &[Pattern]) -> Automaton {
        // Trie with per-state sorted child lists.
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut own_match: Vec<(u32, u32)> = vec![(0, NONE)];
        let mut own_anchor: Vec<Option<AnchorInfo>> = vec![None];
        let mut depth: Vec<u32> = vec![0];
        let mut max_needle_len = 0;
        for p in patterns {
            let bytes = match p {
                Pattern::Needle { bytes, .. } | Pattern::Anchor { bytes, .. } => bytes,
            };
            if bytes.is_empty() {
                continue;
            }
            let mut s = 0usize;
            for &raw in bytes {
                let b = raw.to_ascii_lowercase();
                s = match children[s].binary_search_by_key(&b, |&(c, _)| c) {
                    Ok(i) => children[s][i].1 as usize,
                    Err(i) => {
                        let next = children.len();
                        children[s].insert(i, (b, next as u32));
                        children.push(Vec::new());
                        own_match.push((0, NONE));
                        own_anchor.push(None);
                        depth.push(depth[s] + 1);
                        next
                    }
                };
            }
            match p {
                Pattern::Needle { bytes, label } => {
                    max_needle_len = max_needle_len.max(bytes.len());
                    if own_match[s].1 == NONE {
                        own_match[s] = (bytes.len() as u32, *label);
                    }
                }
                Pattern::Anchor { info, .. } => {
                    own_anchor[s] = Some(merge_anchor(own_anchor[s], *info));
                }
            }
        }

        // Number states in breadth-first order: the root and the states
        // one byte deep come first, so their dense rows are found by
        // multiplying, not by a lookup on the hot path.
        let n = children.len();
        let mut order = Vec::with_capacity(n);
        order.push(0usize);
        let mut qi = 0;
        while qi < order.len() {
            let s = order[qi];
            order.extend(children[s].iter().map(|&(_, c)| c as usize));
            qi += 1;
        }
        let mut new_id = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new as u32;
        }
        let children: Vec<Vec<(u8, u32)>> = order
            .iter()
            .map(|&old| {
                children[old]
                    .iter()
                    .map(|&(b, c)| (b, new_id[c as usize]))
                    .collect()
            })
            .collect();
        let own_match: Vec<(u32, u32)> = order.iter().map(|&old| own_match[old]).collect();
        let own_anchor: Vec<Option<AnchorInfo>> =
            order.iter().map(|&old| own_anchor[old]).collect();
        let depth: Vec<u32> = order.iter().map(|&old| depth[old]).collect();
        let mut fail = vec![0u32; n];
        let mut match_len = vec![0u32; n];
        let mut match_label = vec![NONE; n];
        let mut anchor_info: Vec<Option<AnchorInfo>> = vec![None; n];
        let mut queue = std::collections::VecDeque::new();
        for &(_, c) in &children[0] {
            queue.push_back(c as usize);
        }
        let child = |children: &Vec<Vec<(u8, u32)>>, s: usize, b: u8| -> Option<u32> {
            children[s]
                .binary_search_by_key(&b, |&(c, _)| c)
                .ok()
                .map(|i| children[s][i].1)
        };
        // Root's children fail to the root; the rest in breadth-first order.
        while let Some(s) = queue.pop_front() {
            let f = fail[s] as usize;
            let (own_len, own_label) = own_match[s];
            if own_len > 0 {
                match_len[s] = own_len;
                match_label[s] = own_label;
            } else {
                match_len[s] = match_len[f];
                match_label[s] = match_label[f];
            }
            anchor_info[s] = match (own_anchor[s], anchor_info[f]) {
                (Some(a), Some(b)) => Some(merge_anchor(Some(a), b)),
                (a, b) => a.or(b),
            };
            for &(b, c) in &children[s] {
                let c = c as usize;
                let mut g = fail[s] as usize;
                fail[c] = loop {
                    if s == 0 {
                        break 0;
                    }
                    if let Some(next) = child(&children, g, b) {
                        break next;
                    }
                    if g == 0 {
                        break 0;
                    }
                    g = fail[g] as usize;
                };
                queue.push_back(c);
            }
        }

        let mut root = vec![0u32; 256];
        for &(b, c) in &children[0] {
            root[b as usize] = c;
            let upper = b.to_ascii_uppercase();
            root[upper as usize] = c;
        }
        let mut dense = root.clone();
        let dense_states = children[0].len() as u32;
        for c in 1..=dense_states as usize {
            for byte in 0..=255u8 {
                let next =
                    child(&children, c, byte.to_ascii_lowercase()).unwrap_or(root[byte as usize]);
                dense.push(next);
            }
        }
        let mut trans_start = Vec::with_capacity(n + 1);
        let mut trans_bytes = Vec::new();
        let mut trans_next = Vec::new();
        for kids in &children {
            trans_start.push(trans_bytes.len() as u32);
            for &(b, c) in kids {
                trans_bytes.push(b);
                trans_next.push(c);
            }
        }
        trans_start.push(trans_bytes.len() as u32);

        let mut anchors = Vec::new();
        let anchor: Vec<u32> = anchor_info
            .into_iter()
            .map(|a| match a {
                Some(info) => {
                    anchors.push(info);
                    (anchors.len() - 1) as u32
                }
                None => NONE,
            })
            .collect();
        let interesting = (0..n)
            .map(|s| match_len[s] > 0 || anchor[s] != NONE)
            .collect();
        Automaton {
            dense,
            dense_states,
            interesting,
            trans_start,
            trans_bytes,
            trans_next,
            fail,
            depth,
            match_len,
            match_label,
            anchor,
            anchors,
            max_needle_len,
        }
    }

    pub const START: u32 = 0;

    /// The state after reading `byte` in `state`.
    #[inline(always)]
    pub fn step(&self, state: u32, byte: u8) -> u32 {
        if state <= self.dense_states {
            return self.dense[((state as usize) << 8) | byte as usize];
        }
        self.step_sparse(state, byte)
    }

    #[inline(never)]
    fn step_sparse(&self, mut state: u32, byte: u8) -> u32 {
        let b = byte.to_ascii_lowercase();
        loop {
            if state <= self.dense_states {
                return self.dense[((state as usize) << 8) | byte as usize];
            }
            let s = state as usize;
            let lo = self.trans_start[s] as usize;
            let hi = self.trans_start[s + 1] as usize;
            let bytes = &self.trans_bytes[lo..hi];
            let found = if bytes.len() <= 8 {
                bytes.iter().position(|&c| c == b)
            } else {
                bytes.binary_search(&b).ok()
            };
            if let Some(i) = found {
                return self.trans_next[lo + i];
            }
            state = self.fail[s];
        }
    }

    /// Whether a needle or an anchor ends in this state.
    #[inline(always)]
    pub fn is_interesting(&self, state: u32) -> bool {
        self.interesting[state as usize]
    }

    /// Length of the longest input suffix that is a prefix of a pattern.
    #[inline]
    pub fn depth(&self, state: u32) -> usize {
        self.depth[state as usize] as usize
    }

    /// The longest needle ending at this state, as (length, label).
    #[inline]
    pub fn needle_match(&self, state: u32) -> Option<(usize, u32)> {
        let len = self.match_len[state as usize];
        (len > 0).then(|| (len as usize, self.match_label[state as usize]))
    }

    #[inline]
    pub fn anchor(&self, state: u32) -> Option<AnchorInfo> {
        let a = self.anchor[state as usize];
        (a != NONE).then(|| self.anchors[a as usize])
    }

    pub fn max_needle_len(&self) -> usize {
        self.max_needle_len
    }

    pub fn state_count(&self) -> usize {
        self.depth.len()
    }
}

fn merge_anchor(a: Option<AnchorInfo>, b: AnchorInfo) -> AnchorInfo {
    match a {
        None => b,
        Some(a) => AnchorInfo {
            keyword_len: a.keyword_len.max(b.keyword_len),
            reach: a.reach.max(b.reach),
            multi_line: a.multi_line || b.multi_line,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(list: &[&str]) -> Automaton {
        let pats: Vec<Pattern> = list
            .iter()
            .enumerate()
            .map(|(i, s)| Pattern::Needle {
                bytes: s.as_bytes().to_vec(),
                label: i as u32,
            })
            .collect();
        Automaton::new(&pats)
    }

    fn run(ac: &Automaton, text: &str) -> (Vec<(usize, usize)>, usize) {
        let mut s = Automaton::START;
        let mut found = Vec::new();
        for (i, &b) in text.as_bytes().iter().enumerate() {
            s = ac.step(s, b);
            if let Some((len, _)) = ac.needle_match(s) {
                found.push((i + 1 - len, i + 1));
            }
        }
        (found, ac.depth(s))
    }

    #[test]
    fn finds_overlapping_and_nested_needles() {
        let ac = needles(&["abcd", "bc", "cdef"]);
        let (found, _) = run(&ac, "xabcdefx");
        assert_eq!(found, vec![(2, 4), (1, 5), (3, 7)]);
    }

    #[test]
    fn depth_is_longest_pending_prefix() {
        let ac = needles(&["p4ssp4ssX"]);
        assert_eq!(run(&ac, "zzp4ssp4ss").1, 8);
        assert_eq!(run(&ac, "p4ssp4ssp4ss").1, 8);
        assert_eq!(run(&ac, "p4ssq").1, 0);
        let ac = needles(&["aab"]);
        assert_eq!(run(&ac, "aaa").1, 2);
        assert_eq!(run(&ac, "aaab").0, vec![(1, 4)]);
    }

    #[test]
    fn case_insensitive() {
        let ac = needles(&["Secret"]);
        assert_eq!(run(&ac, "a SECRET b").0, vec![(2, 8)]);
    }

    #[test]
    fn anchors_merge_along_suffix_links() {
        let pats = vec![
            Pattern::Anchor {
                bytes: b"ghp_".to_vec(),
                info: AnchorInfo {
                    keyword_len: 4,
                    reach: 40,
                    multi_line: false,
                },
            },
            Pattern::Anchor {
                bytes: b"p_".to_vec(),
                info: AnchorInfo {
                    keyword_len: 2,
                    reach: 100,
                    multi_line: true,
                },
            },
        ];
        let ac = Automaton::new(&pats);
        let mut s = Automaton::START;
        for &b in b"xghp_" {
            s = ac.step(s, b);
        }
        let a = ac.anchor(s).unwrap();
        assert_eq!((a.keyword_len, a.reach, a.multi_line), (4, 100, true));
    }
}
