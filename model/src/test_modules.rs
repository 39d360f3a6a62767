//! tools/testing/selftests/livepatch/test_modules/: the selftests' livepatch modules whose
//! callbacks do more than print their name (the callback wrappers of
//! [`crate::kernel::livepatch::core_h`] print that line and call these).

pub mod test_klp_state;
