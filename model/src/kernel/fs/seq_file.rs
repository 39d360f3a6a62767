//! fs/seq_file.c: reading a seq_file (every /proc file the scenarios read is one, e.g.
//! fs/proc/cmdline.c's `single_open(file, cmdline_proc_show, NULL)`).

use crate::spec::Spec;
use crate::task::Frame;

/// `seq_read_iter()` at the end of a `read()`: `m->op->show()` (the frame: the show function,
/// in the version `klp_ftrace_handler()` chose when it was called) filled `m->buf`, which is
/// copied to the reader (`copy_to_iter()`). Returns what that version wrote.
/// Atomic because: the buffer is the reader's own (`m->lock` is held across the show call and
/// the copy); the version was fixed at the call, so no livepatch step can change the text.
pub fn seq_read_iter<'a>(spec: &'a Spec, show: &Frame) -> &'a str {
    spec.funcs[show.func as usize].output_of(show.version)
}
