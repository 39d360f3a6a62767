//! `klpcheck diagnose` (to come).
