//! Fairness on the quotient graph: the classes leads-to is checked with under symmetry.
//!
//! crate::fairness gives per-task classes (`Return` of task 3 at depth 1, `Resume` of task 3,
//! the off-CPU check of task 3 ...). On the quotient a state stands for its orbit, and an edge
//! of the stored state names a task in that state's numbering, which is another task of the
//! next orbit's stored state: a class that names one copy means nothing along a quotient
//! path. [`quotient`] rewrites a state's edge classes so that none names a copy, keeping only
//! what every fair run of the unreduced model still satisfies on the quotient:
//! * a **strong** per-task class of a copy becomes the group's class: "some copy takes it".
//!   If the group class is enabled infinitely often, one copy's class is (finitely many
//!   copies), and strong fairness of that copy makes it taken infinitely often;
//! * a **weak** per-task class of a copy becomes the group's class only in a state where
//!   every copy of the group has its class enabled, and is dropped (not fair) elsewhere. If
//!   the group class is enabled continuously, every copy's class is, so each copy takes it
//!   infinitely often, and it was enabled for all at those steps: the group class is taken;
//! * the **off-CPU check** of a copy (`klp_try_switch_task()` finding it off its CPU, a strong
//!   class) is dropped: whether it is enabled depends on which copy the pass tries next, and
//!   the reduced model may try any unvisited copy ([`crate::symmetry`]), so the stored state
//!   can enable it where the unreduced state of the same orbit does not (the copy at the
//!   cursor runs while another, not yet tried, is off its CPU). Counting it there would make a
//!   fair cycle of the unreduced model look unfair on the quotient; dropped, it only adds
//!   candidates, which the unreduced check in their region decides;
//! * classes of tasks in no group, and of the kernel's workers, stay (no renaming moves them).
//!
//! Both are properties of the orbit, not of the stored state, so a run of the unreduced model
//! and its image on the quotient meet the same constraints. Hence no fair violation of the
//! unreduced model is lost (leads-to "holds" on the quotient holds on the model); what is lost
//! is which copy must move, so a fair cycle of the quotient may not be one of the model: a
//! candidate, confirmed on the unreduced model before it is reported (src/lasso.rs).

use super::{task_id, task_parts, FairClass, PER_TASK};
use crate::symmetry::Groups;
use crate::{KlpSystem, State};

/// Rewrites the classes of `st`'s edges (in action order) for the quotient (module docs). A
/// model without groups is left alone.
pub fn quotient(sys: &KlpSystem, _st: &State, classes: &mut [Option<FairClass>]) {
    let Some(groups) = sys.free_pass_order() else { return };
    merge(groups, classes);
}

/// [`quotient`] for `groups`.
pub fn merge(groups: &Groups, classes: &mut [Option<FairClass>]) {
    let group_of = |pid: u8| groups.0.iter().find(|g| g.contains(&usize::from(pid)));
    // Weak classes enabled here, before merging (a copy's weak class counts only if every
    // copy has it).
    let weak: std::collections::HashSet<u16> =
        classes.iter().filter_map(|c| if let Some(FairClass::Weak(id)) = c { Some(*id) } else { None }).collect();
    for c in classes.iter_mut() {
        let Some(fc) = *c else { continue };
        let (FairClass::Weak(id) | FairClass::Strong(id)) = fc;
        let Some((pid, key)) = task_parts(id) else { continue };
        let Some(g) = group_of(pid) else { continue };
        let merged = task_id(g.start as u8, key);
        *c = match fc {
            _ if key == PER_TASK => None,
            FairClass::Strong(_) => Some(FairClass::Strong(merged)),
            FairClass::Weak(_) => {
                g.clone().all(|j| weak.contains(&task_id(j as u8, key))).then_some(FairClass::Weak(merged))
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fairness::fairness;
    use stateright::Model;

    const SRC: &str = r#"
[[functions]]
name = "f"
sleeps = "uninterruptible"
[[tasks]]
comm = "a"
count = 3
entry = ["f"]
[[tasks]]
comm = "b"
entry = ["f"]
[[patches]]
name = "lp"
  [[patches.objects]]
  name = "vmlinux"
  funcs = ["f"]
"#;

    fn system() -> KlpSystem {
        let spec = crate::scenario::read_str("t", "t.toml", SRC).unwrap().into_spec().unwrap();
        let groups = Groups::of(&spec);
        KlpSystem::new(spec, Vec::new).with_free_pass_order(groups)
    }

    fn classes(sys: &KlpSystem, st: &State) -> Vec<Option<FairClass>> {
        let mut acts = Vec::new();
        sys.actions(st, &mut acts);
        let mut c: Vec<_> = acts
            .iter()
            .filter(|&&a| sys.next_state(st, a).is_some_and(|n| sys.within_boundary(&n)))
            .map(|a| fairness(sys, st, a))
            .collect();
        quotient(sys, st, &mut c);
        c
    }

    /// Every state within a few steps, each with every renaming of the copies: the quotient
    /// classes, as a multiset, are the orbit's (what makes them meaningful on the quotient).
    #[test]
    fn quotient_classes_are_the_same_on_every_state_of_an_orbit() {
        let sys = system();
        let groups = sys.free_pass_order().unwrap().clone();
        let mut layer = sys.init_states();
        let mut checked = 0;
        for _ in 0..6 {
            let mut next = Vec::new();
            for st in &layer {
                let mut mine = classes(&sys, st);
                mine.sort_by_key(|c| format!("{c:?}"));
                for (_, r) in groups.others(st) {
                    let mut theirs = classes(&sys, &r);
                    theirs.sort_by_key(|c| format!("{c:?}"));
                    assert_eq!(mine, theirs, "{st:?}");
                    checked += 1;
                }
                let mut acts = Vec::new();
                sys.actions(st, &mut acts);
                next.extend(acts.into_iter().filter_map(|a| sys.next_state(st, a)));
            }
            let mut seen = std::collections::HashSet::new();
            next.retain(|s| seen.insert(s.clone()));
            next.truncate(200);
            layer = next;
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn a_weak_class_of_a_copy_counts_only_where_every_copy_has_it() {
        let sys = system();
        let mut st = sys.init_state();
        let frame = crate::task::Frame { func: 0, version: crate::ids::Version::ORIGINAL };
        for t in 0..4 {
            st.tasks[t].context = crate::task::Context::Sleeping;
            st.tasks[t].stack.push(frame);
        }
        // Every task asleep uninterruptibly: each Wake is weakly fair, the copies' merged.
        let wakes = |st: &State| {
            let mut acts = Vec::new();
            sys.actions(st, &mut acts);
            let c = classes(&sys, st);
            acts.iter()
                .zip(c)
                .filter(|(a, _)| matches!(a, crate::Action::Wake(_)))
                .map(|(a, c)| (*a, c))
                .collect::<Vec<_>>()
        };
        let all = wakes(&st);
        assert_eq!(all.len(), 4, "{all:?}");
        let merged = all[0].1;
        assert!(matches!(merged, Some(FairClass::Weak(_))));
        assert_eq!(all[1].1, merged);
        assert_eq!(all[2].1, merged);
        assert_ne!(all[3].1, merged, "b is in no group");
        assert!(matches!(all[3].1, Some(FairClass::Weak(_))));
        // One copy awake: the others' Wake is no longer fair on the quotient; b's still is.
        st.tasks[1].context = crate::task::Context::Running;
        let some = wakes(&st);
        assert_eq!(some.len(), 3);
        assert_eq!(some[0].1, None);
        assert_eq!(some[1].1, None);
        assert_eq!(some[2].1, all[3].1);
    }
}
