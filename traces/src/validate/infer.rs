//! `klpcheck validate --infer` (to come).
