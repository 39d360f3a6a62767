//! The patch a design variant adds to the scenario's (`disable_via`): built once, with the
//! spec ([`Spec::add_derived_patch`]).

use super::*;

impl Spec {
    /// Adds the patches `self.variant` needs that the scenario does not list, once, when the
    /// spec is built ([`crate::scenario::Scenario::build`]). With
    /// `disable_via = empty_replace | revert_replace` the `disable` command becomes the `insmod`
    /// of a derived cumulative patch (see [`crate::variant::DisableVia`]): every `disable`
    /// command of the scenario is rewritten to load it. Fails only when the derived slots do not
    /// fit the `u8` ids.
    pub(crate) fn add_derived_patch(&mut self) -> Result<(), String> {
        let (base, revert) = match self.variant.disable_via {
            DisableVia::Sysfs => return Ok(()),
            DisableVia::EmptyReplace => ("klp_empty_replace", false),
            DisableVia::RevertReplace => ("klp_revert_replace", true),
        };
        let mut name = base.to_string();
        while self.patches.iter().any(|p| p.name == name) || self.modules.iter().any(|m| m.name == name) {
            name.push('_');
        }
        // Every klp_state of the scenario at its highest version: klp_is_patch_compatible()
        // admits the replace patch whatever is loaded.
        let mut states: Vec<(u32, u32)> = Vec::new();
        for &(id, ver) in self.patches.iter().flat_map(|p| &p.states) {
            match states.iter_mut().find(|s| s.0 == id) {
                Some(s) => s.1 = s.1.max(ver),
                None => states.push((id, ver)),
            }
        }
        states.sort_unstable();
        let mut objs: Vec<(Option<ModId>, Vec<FuncId>, Callbacks)> = Vec::new();
        if revert {
            // One object per object name with callbacks, carrying the union of them.
            for o in self.objs.iter().filter(|o| !o.dynamic) {
                let c = o.callbacks;
                if c == Callbacks::default() {
                    continue;
                }
                let i = match objs.iter().position(|x| x.0 == o.module) {
                    Some(i) => i,
                    None => {
                        objs.push((o.module, Vec::new(), Callbacks::default()));
                        objs.len() - 1
                    }
                };
                let m = &mut objs[i].2;
                if c.pre_patch.is_some() {
                    m.pre_patch = Some(0);
                }
                m.post_patch |= c.post_patch;
                m.pre_unpatch |= c.pre_unpatch;
                m.post_unpatch |= c.post_unpatch;
                // A revert patch that takes over (and keeps) a state's data, as test_klp_state2.c.
                if c.klp_state.is_some() {
                    m.klp_state = Some(crate::spec::StateCallbacks::ConsoleLoglevelMigrate);
                }
            }
            objs.sort_by_key(|o| o.0);
        }
        if objs.is_empty() {
            objs.push((None, Vec::new(), Callbacks::default()));
        }
        let mut b = PatchBuilder {
            patches: std::mem::take(&mut self.patches),
            objs: std::mem::take(&mut self.objs),
            klp_funcs: std::mem::take(&mut self.klp_funcs),
        };
        b.add_patch(name, true, states, objs);
        let p = b.patches.len() - 1;
        b.add_nops_for(p, &self.funcs);
        for o in &mut self.admin.ops {
            if let AdminOp::Disable(_) = o.op {
                o.op = AdminOp::InsmodPatch(p as PatchId);
            }
        }
        b.patches[p].derived = true;
        (self.patches, self.objs, self.klp_funcs) = (b.patches, b.objs, b.klp_funcs);
        if self.patches.len() > u8::MAX as usize
            || self.objs.len() > u8::MAX as usize
            || self.klp_funcs.len() > u8::MAX as usize
        {
            return Err(format!("disable_via: the derived patch needs more than {} klp_func slots", u8::MAX));
        }
        Ok(())
    }
}
