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
//! Layout: states are numbered breadth-first, so a state's children are
//! consecutive ids, found by a search of their edge bytes (no per-state
//! allocation; 18 bytes a state). The shallowest states, where
//! ordinary text spends nearly all its time, also get full DFA rows over
//! byte classes (failure links resolved) within a fixed budget; entries
//! hold the next row's offset and two flag bits ("stop here", "no dense
//! row"), so the hot loop ([`Automaton::run_plain`]) is one table load and
//! one add a byte.
//! Memory stays proportional to the total length of the patterns.

/// A set of bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    pub fn full() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    pub fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    pub fn insert_range(&mut self, from: u8, to: u8) {
        for b in from..=to {
            self.insert(b);
        }
    }

    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    pub fn union(self, other: ByteSet) -> ByteSet {
        let mut out = self;
        for (o, x) in out.0.iter_mut().zip(other.0) {
            *o |= x;
        }
        out
    }
}

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        write!(f, "ByteSet({count} bytes)")
    }
}

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
    /// Every byte a match of a rule anchored here can contain: a byte
    /// outside it ends every such match in progress.
    pub alphabet: ByteSet,
    /// The legacy `##[add-mask` command prefix ends here.
    pub command: bool,
}

/// A pattern to compile.
#[derive(Clone)]
pub enum Pattern {
    /// A literal to mask, with the index of the name it is reported under.
    Needle { bytes: Vec<u8>, label: u32 },
    /// A rule keyword: its occurrence starts a held region.
    Anchor { bytes: Vec<u8>, info: AnchorInfo },
}

/// Debug output never shows a needle: needles are secrets and their
/// encodings. Keywords are public and shown.
impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Needle { label, .. } => f
                .debug_struct("Needle")
                .field("label", label)
                .field("bytes", &"<redacted>")
                .finish(),
            Pattern::Anchor { bytes, info } => f
                .debug_struct("Anchor")
                .field("bytes", &String::from_utf8_lossy(bytes))
                .field("info", info)
                .finish(),
        }
    }
}

const NONE: u32 = u32::MAX;
/// Bytes of DFA rows: the shallow states, where ordinary text spends
/// nearly all its time, get a full row per byte class within this budget.
const DENSE_BUDGET: usize = 2 << 20;
/// Flags in the two low bits of a dense entry (free: the stride is a
/// multiple of 4). `STOP`: [`Automaton::run_plain`] must not take the step
/// (the target is interesting, or the byte is a stop byte). `SPARSE`: the
/// target has no dense row, and the entry holds its id (`id << 2`) rather
/// than its row offset.
const STOP: u32 = 1;
const SPARSE: u32 = 2;
const FLAGS: u32 = STOP | SPARSE;
/// Bytes the redactor handles itself around the automaton: an escape
/// sequence may start, a line (or a wrapped base64 line) may end.
const STOP_BYTES: [u8; 3] = [0x1b, b'\n', b'\r'];

/// What a state reports: the longest needle and the merged anchor of all
/// patterns that end there (itself and along its failure links).
#[derive(Debug, Clone, Copy)]
struct Output {
    match_len: u32,
    match_label: u32,
    /// Index into `anchors`, or NONE.
    anchor: u32,
}

/// States are numbered breadth-first, so the children of a state have
/// consecutive ids (in byte order) and shallow states come first. A state
/// costs 14 bytes outside the dense rows: no per-state allocation.
#[derive(Debug)]
pub struct Automaton {
    /// Byte -> class; bytes no pattern contains share class 0, and an
    /// upper-case letter shares its lower-case letter's class.
    class: [u8; 256],
    /// Entries per row: the class count rounded up to a multiple of 4. Rows are no
    /// wider than needed, so more of them stay in cache.
    stride: usize,
    /// Full transition rows (failure links resolved) of states
    /// `0..dense_states`, at `state * stride`.
    dense: Vec<u32>,
    dense_states: u32,
    /// Children of `s` are the states `first_child[s]..first_child[s + 1]`.
    first_child: Vec<u32>,
    /// The (lower-case) byte on the edge into each state.
    edge_byte: Vec<u8>,
    fail: Vec<u32>,
    depth: Vec<u32>,
    /// Per state: whether a needle or an anchor ends here.
    interesting: Vec<bool>,
    /// Index into `outputs`, or NONE.
    output: Vec<u32>,
    outputs: Vec<Output>,
    anchors: Vec<AnchorInfo>,
    max_needle_len: usize,
}

/// A pattern ending at a trie node: the node, and as (length, label) the
/// needle, or the anchor.
type OwnPattern = (u32, Option<(u32, u32)>, Option<AnchorInfo>);

/// A state of the trie under construction, numbered in depth-first order.
struct TrieNode {
    first_edge: u32,
    edge_count: u32,
}

impl Automaton {
    pub fn new(patterns: &[Pattern]) -> Automaton {
        Automaton::with_dense_budget(patterns, DENSE_BUDGET)
    }

    /// [`Automaton::new`] with `dense_budget` bytes of dense rows.
    fn with_dense_budget(patterns: &[Pattern], dense_budget: usize) -> Automaton {
        let lowered: Vec<(Vec<u8>, usize)> = patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let bytes = match p {
                    Pattern::Needle { bytes, .. } | Pattern::Anchor { bytes, .. } => bytes,
                };
                (!bytes.is_empty()).then(|| (bytes.to_ascii_lowercase(), i))
            })
            .collect();
        let mut sorted: Vec<usize> = (0..lowered.len()).collect();
        sorted.sort_unstable_by(|&a, &b| lowered[a].0.cmp(&lowered[b].0).then(a.cmp(&b)));

        // Trie in depth-first order from the sorted patterns: each pattern
        // shares its longest common prefix with the one before. The edges
        // of a node are created in byte order.
        let mut nodes = vec![TrieNode {
            first_edge: 0,
            edge_count: 0,
        }];
        let mut edges: Vec<(u32, u8, u32)> = Vec::new();
        let mut own: Vec<OwnPattern> = Vec::new();
        let mut path: Vec<u32> = vec![0];
        let mut prev: &[u8] = &[];
        let mut max_needle_len = 0;
        for &k in &sorted {
            let (bytes, pi) = (&lowered[k].0, lowered[k].1);
            let common = prev.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            path.truncate(common + 1);
            for &b in &bytes[common..] {
                let parent = *path.last().unwrap_or(&0);
                let id = nodes.len() as u32;
                nodes.push(TrieNode {
                    first_edge: 0,
                    edge_count: 0,
                });
                edges.push((parent, b, id));
                path.push(id);
            }
            let at = *path.last().unwrap_or(&0);
            match &patterns[pi] {
                Pattern::Needle { bytes, label } => {
                    max_needle_len = max_needle_len.max(bytes.len());
                    own.push((at, Some((bytes.len() as u32, *label)), None));
                }
                Pattern::Anchor { info, .. } => own.push((at, None, Some(*info))),
            }
            prev = bytes;
        }
        drop(path);

        // Edges grouped by parent, each group in byte order (stable sort).
        edges.sort_by_key(|&(parent, _, _)| parent);
        for (i, &(parent, _, _)) in edges.iter().enumerate() {
            let node = &mut nodes[parent as usize];
            if node.edge_count == 0 {
                node.first_edge = i as u32;
            }
            node.edge_count += 1;
        }

        // Breadth-first renumbering: a state's children get consecutive ids.
        let n = nodes.len();
        let mut new_id = vec![0u32; n];
        let mut order: Vec<u32> = Vec::with_capacity(n);
        order.push(0);
        let mut first_child = Vec::with_capacity(n + 1);
        let mut edge_byte = vec![0u8; n];
        let mut depth = vec![0u32; n];
        let mut qi = 0;
        while qi < order.len() {
            let old = order[qi] as usize;
            first_child.push(order.len() as u32);
            let node = &nodes[old];
            let from = node.first_edge as usize;
            for &(_, b, child) in &edges[from..from + node.edge_count as usize] {
                let id = order.len();
                new_id[child as usize] = id as u32;
                edge_byte[id] = b;
                depth[id] = depth[qi] + 1;
                order.push(child);
            }
            qi += 1;
        }
        first_child.push(n as u32);
        drop(order);
        drop(edges);
        drop(nodes);

        let mut own_match: Vec<Option<(u32, u32)>> = vec![None; n];
        let mut own_anchor: Vec<Option<AnchorInfo>> = vec![None; n];
        for (old, m, a) in own {
            let s = new_id[old as usize] as usize;
            if let Some(m) = m {
                // The first pattern in input order keeps its label.
                if own_match[s].is_none() {
                    own_match[s] = Some(m);
                }
            }
            if let Some(a) = a {
                own_anchor[s] = Some(merge_anchor(own_anchor[s], a));
            }
        }
        drop(new_id);

        let child = |s: usize, b: u8| -> Option<u32> {
            let lo = first_child[s] as usize;
            let hi = first_child[s + 1] as usize;
            edge_byte[lo..hi]
                .binary_search(&b)
                .ok()
                .map(|i| (lo + i) as u32)
        };
        // Failure links and outputs in breadth-first order: a state's
        // failure target is shallower, so it is done before it.
        let mut fail = vec![0u32; n];
        let mut output = vec![NONE; n];
        let mut outputs: Vec<Output> = Vec::new();
        let mut anchors: Vec<AnchorInfo> = Vec::new();
        for s in 0..n {
            for c in first_child[s]..first_child[s + 1] {
                let b = edge_byte[c as usize];
                fail[c as usize] = if s == 0 {
                    0
                } else {
                    let mut g = fail[s] as usize;
                    loop {
                        if let Some(next) = child(g, b) {
                            break next;
                        }
                        if g == 0 {
                            break 0;
                        }
                        g = fail[g] as usize;
                    }
                };
            }
            if s == 0 {
                continue;
            }
            let inherited = output[fail[s] as usize];
            if own_match[s].is_none() && own_anchor[s].is_none() {
                output[s] = inherited;
                continue;
            }
            let from_fail = (inherited != NONE).then(|| outputs[inherited as usize]);
            let (match_len, match_label) = match (own_match[s], from_fail) {
                (Some(m), _) => m,
                (None, Some(o)) => (o.match_len, o.match_label),
                (None, None) => (0, NONE),
            };
            let fail_anchor =
                from_fail.and_then(|o| (o.anchor != NONE).then(|| anchors[o.anchor as usize]));
            let anchor = match (own_anchor[s], fail_anchor) {
                (Some(a), Some(b)) => Some(merge_anchor(Some(a), b)),
                (a, b) => a.or(b),
            };
            let anchor = match anchor {
                Some(info) => {
                    anchors.push(info);
                    (anchors.len() - 1) as u32
                }
                None => NONE,
            };
            outputs.push(Output {
                match_len,
                match_label,
                anchor,
            });
            output[s] = (outputs.len() - 1) as u32;
        }
        drop(own_match);
        drop(own_anchor);

        // Byte classes: every byte some pattern holds is its own class.
        let mut class = [0u8; 256];
        let mut classes = 1usize;
        let mut used = [false; 256];
        for &b in &edge_byte[1..] {
            used[b as usize] = true;
        }
        for b in STOP_BYTES {
            used[b as usize] = true;
        }
        let mut representative = vec![0u8];
        for b in 0..=255u8 {
            if used[b as usize] && classes < 256 {
                class[b as usize] = classes as u8;
                representative.push(b);
                classes += 1;
            }
        }
        for b in b'A'..=b'Z' {
            class[b as usize] = class[b.to_ascii_lowercase() as usize];
        }
        // Past 255 distinct bytes (binary values) the classes would merge
        // bytes with different transitions: all states are sparse then.
        let exact_classes = used.iter().filter(|&&u| u).count() < 256;
        let stride = classes.next_multiple_of(4);
        // Row offsets of all states must fit an entry.
        let offsets_fit = (n as u64) * (stride as u64) < u64::from(u32::MAX >> 2);
        let dense_states = if exact_classes && offsets_fit {
            (dense_budget / (stride * 4)).clamp(1, n)
        } else {
            0
        };
        let interesting: Vec<bool> = output
            .iter()
            .map(|&o| {
                o != NONE && {
                    let o = outputs[o as usize];
                    o.match_len > 0 || o.anchor != NONE
                }
            })
            .collect();
        let mut dense = vec![0u32; dense_states * stride];
        for s in 0..dense_states {
            for (c, &rep) in representative.iter().enumerate() {
                let next = match (c, child(s, rep)) {
                    (0, _) => None,
                    (_, found) => found,
                };
                dense[s * stride + c] = match next {
                    Some(t) => t,
                    None if s == 0 => 0,
                    None => dense[fail[s] as usize * stride + c],
                };
            }
        }

        // Offsets and tags go in after all rows are built (rows copy from
        // shallower ones).
        for s in 0..dense_states {
            for (c, &rep) in representative.iter().enumerate() {
                let entry = &mut dense[s * stride + c];
                let target = *entry;
                let stop = interesting[target as usize] || STOP_BYTES.contains(&rep);
                let flags = if stop { STOP } else { 0 };
                *entry = if (target as usize) < dense_states {
                    (target * stride as u32) | flags
                } else {
                    (target << 2) | SPARSE | flags
                };
            }
        }
        Automaton {
            class,
            stride,
            dense,
            dense_states: dense_states as u32,
            first_child,
            edge_byte,
            fail,
            depth,
            interesting,
            output,
            outputs,
            anchors,
            max_needle_len,
        }
    }

    pub const START: u32 = 0;

    /// The state after reading `byte` in `state`.
    #[inline(always)]
    pub fn step(&self, state: u32, byte: u8) -> u32 {
        if state < self.dense_states {
            return self.dense_step(state, byte);
        }
        self.step_sparse(state, byte)
    }

    #[inline(always)]
    fn dense_step(&self, state: u32, byte: u8) -> u32 {
        let entry = self.dense[state as usize * self.stride + self.class[byte as usize] as usize];
        if entry & SPARSE != 0 {
            entry >> 2
        } else {
            ((entry & !FLAGS) as usize / self.stride) as u32
        }
    }

    /// Steps over `bytes` from `state` until a stop byte (`ESC`, `\n`,
    /// `\r`) or a byte that leads to an interesting state, neither of which
    /// is consumed. Returns the state reached and the bytes consumed.
    #[inline(never)]
    pub fn run_plain(&self, state: u32, bytes: &[u8]) -> (u32, usize) {
        let stride = self.stride;
        let dense = &self.dense[..];
        let class = &self.class;
        let mut state = state;
        let mut i = 0;
        loop {
            if state < self.dense_states {
                // In the dense rows: one add and one load a byte, on the
                // next row's offset.
                let mut offset = state as usize * stride;
                let mut entry = 0;
                while let Some(&b) = bytes.get(i) {
                    entry = dense[offset + class[b as usize] as usize];
                    if entry & FLAGS != 0 {
                        break;
                    }
                    offset = entry as usize;
                    i += 1;
                }
                if i == bytes.len() || entry & STOP != 0 {
                    return ((offset / stride) as u32, i);
                }
                // Into a state without a dense row.
                state = entry >> 2;
                i += 1;
            } else {
                let Some(&b) = bytes.get(i) else {
                    return (state, i);
                };
                if STOP_BYTES.contains(&b) {
                    return (state, i);
                }
                let next = self.step_sparse(state, b);
                if self.interesting[next as usize] {
                    return (state, i);
                }
                state = next;
                i += 1;
            }
        }
    }

    #[inline(never)]
    fn step_sparse(&self, mut state: u32, byte: u8) -> u32 {
        let b = byte.to_ascii_lowercase();
        loop {
            if state < self.dense_states {
                return self.dense_step(state, byte);
            }
            let s = state as usize;
            let lo = self.first_child[s] as usize;
            let hi = self.first_child[s + 1] as usize;
            let bytes = &self.edge_byte[lo..hi];
            let found = if bytes.len() <= 8 {
                bytes.iter().position(|&c| c == b)
            } else {
                bytes.binary_search(&b).ok()
            };
            if let Some(i) = found {
                return (lo + i) as u32;
            }
            if s == 0 {
                return 0;
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

    fn output_of(&self, state: u32) -> Option<Output> {
        let o = self.output[state as usize];
        (o != NONE).then(|| self.outputs[o as usize])
    }

    /// The longest needle ending at this state, as (length, label).
    #[inline]
    pub fn needle_match(&self, state: u32) -> Option<(usize, u32)> {
        self.output_of(state)
            .filter(|o| o.match_len > 0)
            .map(|o| (o.match_len as usize, o.match_label))
    }

    #[inline]
    pub fn anchor(&self, state: u32) -> Option<AnchorInfo> {
        self.output_of(state)
            .filter(|o| o.anchor != NONE)
            .map(|o| self.anchors[o.anchor as usize])
    }

    pub fn max_needle_len(&self) -> usize {
        self.max_needle_len
    }

    pub fn state_count(&self) -> usize {
        self.depth.len()
    }

    /// Bytes held by the automaton's tables.
    pub fn heap_bytes(&self) -> usize {
        self.dense.len() * 4
            + self.first_child.len() * 4
            + self.edge_byte.len()
            + self.fail.len() * 4
            + self.depth.len() * 4
            + self.interesting.len()
            + self.output.len() * 4
            + self.outputs.len() * std::mem::size_of::<Output>()
            + self.anchors.len() * std::mem::size_of::<AnchorInfo>()
    }
}

fn merge_anchor(a: Option<AnchorInfo>, b: AnchorInfo) -> AnchorInfo {
    match a {
        None => b,
        Some(a) => AnchorInfo {
            keyword_len: a.keyword_len.max(b.keyword_len),
            reach: a.reach.max(b.reach),
            multi_line: a.multi_line || b.multi_line,
            alphabet: a.alphabet.union(b.alphabet),
            command: a.command || b.command,
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

    /// Dense rows and sparse transitions must agree, and `run_plain` must
    /// stop exactly where stepping reaches a stop byte or an interesting
    /// state.
    #[test]
    fn dense_and_sparse_layouts_agree() {
        let words = [
            "abcab", "bcabx", "cab", "ab\nc", "zzzzzz", "a_b-c", "xyzxyzq",
        ];
        let pats: Vec<Pattern> = words
            .iter()
            .enumerate()
            .map(|(i, w)| Pattern::Needle {
                bytes: w.as_bytes().to_vec(),
                label: i as u32,
            })
            .collect();
        let layouts = [
            Automaton::with_dense_budget(&pats, 0),
            Automaton::with_dense_budget(&pats, 1),
            Automaton::with_dense_budget(&pats, 3 * 64 * 4),
            Automaton::with_dense_budget(&pats, 1 << 20),
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet = b"abcxyzqZAB_-\n\r\x1b.";
        let text: Vec<u8> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect();
        let reference = &layouts[3];
        for ac in &layouts {
            let mut s = Automaton::START;
            let mut r = Automaton::START;
            let mut i = 0;
            while i < text.len() {
                let (after, n) = ac.run_plain(s, &text[i..]);
                for &b in &text[i..i + n] {
                    r = reference.step(r, b);
                    assert!(!reference.is_interesting(r));
                    assert!(!STOP_BYTES.contains(&b));
                }
                assert_eq!(ac.depth(after), reference.depth(r));
                i += n;
                if i == text.len() {
                    break;
                }
                s = ac.step(after, text[i]);
                r = reference.step(r, text[i]);
                let stopped_right = STOP_BYTES.contains(&text[i]) || ac.is_interesting(s);
                assert!(stopped_right, "run_plain stopped early at {i}");
                assert_eq!(ac.depth(s), reference.depth(r));
                assert_eq!(ac.needle_match(s), reference.needle_match(r));
                i += 1;
            }
        }
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
                    alphabet: ByteSet::default(),
                    command: false,
                },
            },
            Pattern::Anchor {
                bytes: b"p_".to_vec(),
                info: AnchorInfo {
                    keyword_len: 2,
                    reach: 100,
                    multi_line: true,
                    alphabet: ByteSet::full(),
                    command: true,
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
        assert_eq!(a.alphabet, ByteSet::full());
        assert!(a.command);
    }
}
