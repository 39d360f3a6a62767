//! The error numbers the modelled kernel code returns (include/uapi/asm-generic/errno-base.h),
//! as negative values the way kernel functions return them, and their `strerror()` texts as
//! insmod, rmmod and the shell print them.

/// `-EPERM`: operation not permitted.
pub const EPERM: i32 = -1;
/// `-ENOENT`: no such file or directory (a sysfs file that is gone, a module not loaded).
pub const ENOENT: i32 = -2;
/// `-ENOMEM`.
pub const ENOMEM: i32 = -12;
/// `-EBUSY`: device or resource busy (a transition in progress, a module in use).
pub const EBUSY: i32 = -16;
/// `-EEXIST`: the module is already loaded.
pub const EEXIST: i32 = -17;
/// `-ENODEV`: the selftests' failing pre_patch callback.
pub const ENODEV: i32 = -19;
/// `-EINVAL`: invalid argument.
pub const EINVAL: i32 = -22;

/// `strerror()` of a negative errno, as the shell and rmmod print it.
pub fn strerror(errno: i32) -> &'static str {
    match errno {
        EPERM => "Operation not permitted",
        ENOENT => "No such file or directory",
        ENOMEM => "Cannot allocate memory",
        EBUSY => "Device or resource busy",
        EEXIST => "File exists",
        ENODEV => "No such device",
        EINVAL => "Invalid argument",
        _ => "Unknown error",
    }
}
