pub mod ftrace;
