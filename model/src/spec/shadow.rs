//! Shadow variables as a scenario declares them (Documentation/livepatch/shadow-vars.rst): the
//! `<obj, id>` pairs that new functions allocate, look up and free when they run, and the
//! `klp_shadow_free_all(id)` calls of a livepatch's callbacks and of its module's exit. Empty
//! (and free: no state bit is ever set) for a scenario that names none.

use super::*;

/// The most `<obj, id>` pairs a scenario may name: one bit each in
/// [`State::klp_shadow_hash`](crate::State).
pub const MAX_SHADOW_VARS: usize = 32;
/// Parent objects are numbered `0..MAX_SHADOW_OBJS` (the model has no allocator: a scenario's
/// parents are a fixed set, e.g. "the dummy" of livepatch-shadow-mod.c).
pub const MAX_SHADOW_OBJS: u32 = 4;

/// One `<obj, id>` pair: `obj` a parent object's number, `id` the data identifier
/// (`SV_LEAK` = 1 in livepatch-shadow-fix1.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShadowVar {
    pub obj: u32,
    pub id: u64,
}

/// The shadow variable API call a new function makes (kernel/livepatch/shadow.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShadowFn {
    /// `klp_shadow_get_or_alloc()`: find `<obj, id>` or attach a new one. Also stands for
    /// `klp_shadow_alloc()` on a parent the function has just allocated (no variable can
    /// exist for it, so its duplicate WARN cannot fire; the model's parents are fixed, so
    /// `alloc` on one would find the previous parent's variable).
    GetOrAlloc,
    /// `klp_shadow_get()`: look `<obj, id>` up.
    Get,
    /// `klp_shadow_free()`: detach and free `<obj, id>` (the parent is being released).
    Free,
}

/// A call a new function makes when it runs: the API function and the pair
/// ([`Spec::shadow`]`.vars` index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShadowCall {
    pub call: ShadowFn,
    pub var: u8,
}

/// Which callback of an object calls `klp_shadow_free_all()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallbackKind {
    PrePatch,
    PostPatch,
    PreUnpatch,
    PostUnpatch,
}

/// The scenario's shadow variables and who frees them all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShadowSpec {
    /// Bit `i` of `klp_shadow_hash` is `vars[i]`.
    pub vars: Vec<ShadowVar>,
    /// `klp_shadow_free_all(id)` calls of object callbacks: (object, callback, id), in the
    /// order the callback makes them.
    pub callback_free_all: Vec<(ObjId, CallbackKind, u64)>,
    /// `klp_shadow_free_all(id)` calls of a livepatch module's exit (`module_exit()`, as
    /// livepatch-shadow-fix1.c and -fix2.c do): (patch, id).
    pub exit_free_all: Vec<(PatchId, u64)>,
    /// Per patch: the ids its new functions, callbacks or module exit use (sorted, unique).
    pub declared: Vec<Vec<u64>>,
}

impl ShadowSpec {
    /// The pair's bit, adding it if new; `None` past [`MAX_SHADOW_VARS`].
    pub fn var(&mut self, v: ShadowVar) -> Option<u8> {
        let i = self.vars.iter().position(|&x| x == v).unwrap_or(self.vars.len());
        if i == MAX_SHADOW_VARS {
            return None;
        }
        if i == self.vars.len() {
            self.vars.push(v);
        }
        Some(i as u8)
    }
    /// Whether patch `p` uses shadow variables of `id` (its new functions call the API on it, or
    /// its callbacks or exit free them all).
    pub fn declares(&self, p: PatchId, id: u64) -> bool {
        self.declared.get(p as usize).is_some_and(|ids| ids.binary_search(&id).is_ok())
    }
    /// Fill [`ShadowSpec::declared`] once every call is known.
    pub fn finish(&mut self, funcs: &[FuncSpec], objs: &[ObjSpec], patches: usize) {
        let mut declared = vec![Vec::new(); patches];
        for f in funcs {
            for (p, body) in f.new_bodies.iter().enumerate() {
                for c in body.iter().flat_map(|b| &b.shadow) {
                    declared[p].push(self.vars[c.var as usize].id);
                }
            }
        }
        for &(o, _, id) in &self.callback_free_all {
            declared[objs[o as usize].patch as usize].push(id);
        }
        for &(p, id) in &self.exit_free_all {
            declared[p as usize].push(id);
        }
        for ids in &mut declared {
            ids.sort_unstable();
            ids.dedup();
        }
        self.declared = declared;
    }
}
