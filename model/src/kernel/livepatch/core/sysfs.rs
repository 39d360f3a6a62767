//! The read side of core.c's sysfs interface (`/sys/kernel/livepatch/<patch>/...`): the show
//! functions (`enabled_show()`, `transition_show()`, `replace_show()`, `stack_order_show()`,
//! `patched_show()`) and the files' modes (`__ATTR_RW`, `__ATTR_RO`, `__ATTR_WO`, kobject
//! directories), as the selftest helpers `check_sysfs_value` and `check_sysfs_rights`
//! (functions.sh) read them. The write side (`enabled_store()`, `force_store()`) is in
//! [`super`].

use crate::ids::*;
use crate::spec::{AdminOp, Spec, SysfsFile, SysfsMode};
use crate::state::{PatchLife, State};

/// The file exists: the patch's kobject lives from `klp_init_patch()` until
/// `klp_free_patch_finish()` puts it; an object's kobject (and its `patched` file) until
/// `klp_free_objects()` in `klp_free_patch_start()` (a dynamic object: while `klp_add_nops()`'s
/// allocation exists).
pub fn sysfs_file_exists(spec: &Spec, st: &State, p: PatchId, file: SysfsFile) -> bool {
    let life = st.patches[p as usize].life;
    match file {
        SysfsFile::ObjDir(o) | SysfsFile::ObjPatched(o) => {
            life == PatchLife::Listed && (!spec.objs[o as usize].dynamic || st.objs[o as usize].exists)
        }
        _ => matches!(life, PatchLife::Listed | PatchLife::Freeing),
    }
}

/// What `cat` prints for a readable file (`sysfs_emit(buf, "%d\n", ...)`, without the newline
/// the shell's `$(cat ...)` drops); `None` if the file does not exist or has no show method.
/// Atomic because: `stack_order_show()` walks `klp_patches` under `klp_mutex`; the other show
/// functions read one field.
pub fn sysfs_show(spec: &Spec, st: &State, p: PatchId, file: SysfsFile) -> Option<u32> {
    if !sysfs_file_exists(spec, st, p, file) {
        return None;
    }
    let rt = &st.patches[p as usize];
    Some(match file {
        // enabled_show(): patch->enabled.
        SysfsFile::Enabled => rt.enabled as u32,
        // transition_show(): patch == klp_transition_patch.
        SysfsFile::Transition => (st.klp_transition_patch == Some(p)) as u32,
        // replace_show(): patch->replace.
        SysfsFile::Replace => spec.patches[p as usize].replace as u32,
        // stack_order_show(): the patch's place on klp_patches, counting from 1 (a patch no
        // longer on the list counts them all: the walk never breaks).
        SysfsFile::StackOrder => {
            st.klp_patches.iter().position(|&q| q == p).map_or(st.klp_patches.len(), |i| i + 1) as u32
        }
        // patched_show(): obj->patched.
        SysfsFile::ObjPatched(o) => st.objs[o as usize].patched as u32,
        SysfsFile::Force | SysfsFile::Dir | SysfsFile::ObjDir(_) => return None,
    })
}

/// The file's mode as `stat --format '%A'` prints it; `None` if it does not exist.
pub fn sysfs_rights(spec: &Spec, st: &State, p: PatchId, file: SysfsFile) -> Option<SysfsMode> {
    if !sysfs_file_exists(spec, st, p, file) {
        return None;
    }
    Some(match file {
        // kobject directories: S_IRWXU | S_IRUGO | S_IXUGO.
        SysfsFile::Dir | SysfsFile::ObjDir(_) => SysfsMode::Dir,
        // __ATTR_RW(enabled): 0644.
        SysfsFile::Enabled => SysfsMode::ReadWrite,
        // __ATTR_WO(force): 0200.
        SysfsFile::Force => SysfsMode::WriteOnly,
        // __ATTR_RO(...): 0444.
        SysfsFile::Transition | SysfsFile::Replace | SysfsFile::StackOrder | SysfsFile::ObjPatched(_) => {
            SysfsMode::ReadOnly
        }
    })
}

/// functions.sh `check_sysfs_value` / `check_sysfs_rights`: `None` if the file reads as
/// expected, else the line `die()` writes to the kernel log.
pub fn check_sysfs(spec: &Spec, st: &State, op: AdminOp) -> Option<String> {
    match op {
        AdminOp::CheckSysfsValue(p, file, want) => {
            let got = sysfs_show(spec, st, p, file);
            (got != Some(want)).then(|| {
                let got = got.map(|v| v.to_string()).unwrap_or_default();
                format!("ERROR: Unexpected value in {}: {want} vs. {got}", spec.sysfs_path(p, file))
            })
        }
        AdminOp::CheckSysfsRights(p, file, want) => {
            let got = sysfs_rights(spec, st, p, file);
            (got != Some(want)).then(|| {
                let got = got.map(SysfsMode::as_str).unwrap_or_default();
                format!("ERROR: Unexpected access rights of {}: {} vs. {got}", spec.sysfs_path(p, file), want.as_str())
            })
        }
        _ => None,
    }
}
