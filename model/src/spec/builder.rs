//! [`PatchBuilder`]: the flat `klp_patch` / `klp_object` / `klp_func` slot tables of a
//! [`Spec`](super::Spec), nop slots included, as the scenario and the derived patches fill them.

use super::*;

/// Builds the flat object and func slot tables.
#[derive(Default)]
pub(crate) struct PatchBuilder {
    pub patches: Vec<PatchSpec>,
    pub objs: Vec<ObjSpec>,
    pub klp_funcs: Vec<KlpFuncSpec>,
}

impl PatchBuilder {
    pub fn add_patch(
        &mut self,
        name: String,
        replace: bool,
        states: Vec<(u32, u32)>,
        objs: Vec<(Option<ModId>, Vec<FuncId>, Callbacks)>,
    ) {
        let patch = self.patches.len() as PatchId;
        let mut ids = Vec::new();
        for (module, funcs, callbacks) in objs {
            ids.push(self.add_obj(patch, module, false, callbacks, &funcs, false));
        }
        self.patches.push(PatchSpec { name, replace, states, objs: ids, immediate: false, derived: false });
    }

    fn add_obj(
        &mut self,
        patch: PatchId,
        module: Option<ModId>,
        dynamic: bool,
        callbacks: Callbacks,
        funcs: &[FuncId],
        nop: bool,
    ) -> ObjId {
        let obj = self.objs.len() as ObjId;
        let mut ids = Vec::new();
        for &old_func in funcs {
            ids.push(self.klp_funcs.len() as KlpFuncId);
            self.klp_funcs.push(KlpFuncSpec { patch, obj, old_func, nop, patch_fails: None });
        }
        self.objs.push(ObjSpec { patch, module, dynamic, callbacks, funcs: ids });
        obj
    }

    /// `klp_add_nops()` can only add a nop for a function that some other patch patches; every
    /// such slot is allocated here and exists at run time only when an older patch in
    /// `klp_patches` patches that function when the replace patch is enabled.
    pub fn add_nops(&mut self, funcs: &[FuncSpec]) {
        for p in 0..self.patches.len() {
            if self.patches[p].replace {
                self.add_nops_for(p, funcs);
            }
        }
    }

    /// The nop slots of replace patch `p`: one per function another patch patches and `p` does not.
    pub fn add_nops_for(&mut self, p: usize, funcs: &[FuncSpec]) {
        let own: Vec<FuncId> = self.patches[p]
            .objs
            .iter()
            .flat_map(|&o| self.objs[o as usize].funcs.iter().map(|&k| self.klp_funcs[k as usize].old_func))
            .collect();
        let mut others: Vec<FuncId> = self
            .klp_funcs
            .iter()
            .filter(|k| k.patch as usize != p && !k.nop)
            .map(|k| k.old_func)
            .filter(|f| !own.contains(f))
            .collect();
        others.sort_unstable();
        others.dedup();
        for f in others {
            let module = funcs[f as usize].module;
            let existing = self.patches[p].objs.iter().copied().find(|&o| self.objs[o as usize].module == module);
            match existing {
                Some(o) => {
                    let id = self.klp_funcs.len() as KlpFuncId;
                    self.klp_funcs.push(KlpFuncSpec {
                        patch: p as PatchId,
                        obj: o,
                        old_func: f,
                        nop: true,
                        patch_fails: None,
                    });
                    self.objs[o as usize].funcs.push(id);
                }
                None => {
                    let o = self.add_obj(p as PatchId, module, true, Callbacks::default(), &[f], true);
                    self.patches[p].objs.push(o);
                }
            }
        }
    }
}
