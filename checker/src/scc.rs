//! Strongly connected components of a subgraph of the explored [`Graph`], iteratively (no
//! recursion: graphs have millions of states). Components come out in reverse topological
//! order (a component is emitted after every component it can reach), which the liveness
//! checks use to propagate "can reach" facts in one pass. Roots and edges are visited in index
//! order, so the output is deterministic.
//!
//! Why Pearce's variant of Tarjan's algorithm (D. J. Pearce, "A space-efficient algorithm for
//! finding strongly connected components", IPL 116(1), 2016): one `u32` per state, `rindex`,
//! serves as Tarjan's `index`, `lowlink`, "on stack" flag and, once the state's component is
//! complete, as its component id. Tarjan's three arrays (9 bytes per state) plus a component
//! array (4 more) become 4 bytes per state; on `large` (30.5 million states, two passes at once)
//! that is the difference between 0.79 GB and 0.24 GB of working arrays.
//!
//! `rindex[v]` is 0 while `v` is unvisited; while `v` is open it is at most the number of open
//! states (a visit number that is reused once states complete); when `v`'s component completes
//! it becomes the component's id, counted down from `rindex.len()`. An open state's value is
//! always below every id given out so far (Pearce's invariant: open states never outnumber the
//! states not yet in a component), so one comparison tells an open state from a finished one.

/// Where a state's `rindex` lives: the state's own index (a run over the whole graph) or its
/// position in a sorted set (a run over a subset, with an array as long as the subset).
pub(crate) trait Slots {
    fn slot(&self, v: u32) -> usize;
}

/// `rindex` indexed by the state itself.
pub(crate) struct Whole;

impl Slots for Whole {
    #[inline]
    fn slot(&self, v: u32) -> usize {
        v as usize
    }
}

/// `rindex` indexed by the state's position in this sorted set (every state the run may visit
/// is in it).
pub(crate) struct Subset<'a>(pub(crate) &'a [u32]);

impl Slots for Subset<'_> {
    #[inline]
    fn slot(&self, v: u32) -> usize {
        self.0.binary_search(&v).expect("a state of the subset")
    }
}

/// One open state on the DFS path: the state, whether it is still its component's root, and
/// where its next target is in `Scc::targets` (its targets run to the end of that vector, or
/// to the next frame's start: the top frame's are always the last ones).
struct Frame {
    v: u32,
    root: bool,
    start: usize,
    at: usize,
}

/// What a run reports, in DFS order.
pub(crate) enum Event<'a> {
    /// An edge from the open state `v` to a state of the completed component `id` (so every
    /// fact about that component is final): `Cross(v, id)`. Reported once per such edge.
    Cross(u32, u32),
    /// A completed component: its states and its id.
    Component(&'a [u32], u32),
}

/// The DFS stacks of one run (reused across runs; `rindex` is the caller's).
#[derive(Default)]
pub(crate) struct Scc {
    /// Open states that are not the root of their component (Pearce's `S`).
    stack: Vec<u32>,
    calls: Vec<Frame>,
    /// The targets of the states in `calls` (what `succ` gave), decoded once when the state is
    /// opened (the graph is compressed: `graph.rs`).
    targets: Vec<u32>,
    /// The component being emitted.
    members: Vec<u32>,
    /// Largest number of bytes the stacks held (they grow with the DFS depth).
    pub(crate) peak_bytes: usize,
}

impl Scc {
    /// Strongly connected components of the subgraph of states with `node_ok` and the edges
    /// `succ` gives (it appends a state's targets to the vector) whose both ends are in it,
    /// reached from `roots` in order. `rindex` (as long as `slots` needs, zeroed) ends with each
    /// visited state's component id, the rest 0. `on` hears of every completed component and of
    /// every edge into one from a state still open ([`Event`]): why, a fact that flows back
    /// along edges ("reaches a failing component") is then gathered as the DFS meets the edge,
    /// and no state's edges are decoded twice.
    pub(crate) fn run(
        &mut self,
        rindex: &mut [u32],
        slots: &impl Slots,
        roots: impl IntoIterator<Item = u32>,
        node_ok: impl Fn(u32) -> bool,
        mut succ: impl FnMut(u32, &mut Vec<u32>),
        mut on: impl FnMut(Event<'_>),
    ) {
        assert!(rindex.len() < u32::MAX as usize, "at most 2^32 - 2 states");
        let mut index = 1u32;
        let mut c = rindex.len() as u32;
        for r in roots {
            if !node_ok(r) || rindex[slots.slot(r)] != 0 {
                continue;
            }
            self.open(r, &mut index, rindex, slots, &mut succ);
            while let Some(top) = self.calls.last_mut() {
                let (v, sv) = (top.v, slots.slot(top.v));
                let mut descended = None;
                while top.at < self.targets.len() {
                    let w = self.targets[top.at];
                    top.at += 1;
                    if !node_ok(w) {
                        continue;
                    }
                    let sw = slots.slot(w);
                    if rindex[sw] == 0 {
                        descended = Some(w);
                        break;
                    }
                    if rindex[sw] > c {
                        on(Event::Cross(v, rindex[sw]));
                    } else if rindex[sw] < rindex[sv] {
                        rindex[sv] = rindex[sw];
                        top.root = false;
                    }
                }
                if let Some(w) = descended {
                    self.open(w, &mut index, rindex, slots, &mut succ);
                    continue;
                }
                let f = self.calls.pop().expect("a call");
                self.targets.truncate(f.start);
                if f.root {
                    // v is its component's root: the component is v and the states above the
                    // first one of the stack whose value is at least v's.
                    index -= 1;
                    let pos = self.stack.len()
                        - self.stack.iter().rev().take_while(|&&x| rindex[slots.slot(x)] >= rindex[sv]).count();
                    self.members.clear();
                    self.members.extend_from_slice(&self.stack[pos..]);
                    self.members.push(v);
                    self.stack.truncate(pos);
                    for &x in &self.members {
                        rindex[slots.slot(x)] = c;
                    }
                    index -= self.members.len() as u32 - 1;
                    on(Event::Component(&self.members, c));
                    c -= 1;
                } else {
                    self.stack.push(v);
                }
                if let Some(parent) = self.calls.last_mut() {
                    let sp = slots.slot(parent.v);
                    if f.root {
                        // The edge that opened v now leads into v's completed component.
                        on(Event::Cross(parent.v, rindex[sv]));
                    } else if rindex[sv] < rindex[sp] {
                        rindex[sp] = rindex[sv];
                        parent.root = false;
                    }
                }
            }
        }
    }

    fn open(
        &mut self,
        v: u32,
        index: &mut u32,
        rindex: &mut [u32],
        slots: &impl Slots,
        succ: &mut impl FnMut(u32, &mut Vec<u32>),
    ) {
        rindex[slots.slot(v)] = *index;
        *index += 1;
        let start = self.targets.len();
        succ(v, &mut self.targets);
        self.calls.push(Frame { v, root: true, start, at: start });
        let bytes = self.stack.capacity() * 4
            + self.calls.capacity() * std::mem::size_of::<Frame>()
            + self.targets.capacity() * 4;
        self.peak_bytes = self.peak_bytes.max(bytes);
    }
}
