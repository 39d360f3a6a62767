-------------------------------- MODULE Toy --------------------------------
(***************************************************************************)
(* The toy livepatch transition model of klp-toy (toy/src/lib.rs) in TLA+. *)
(* toy/README.md describes it; toy/toy.pml is the same model for SPIN.     *)
(*                                                                         *)
(* N tasks call and return from NF functions, functions 0..NP-1 being      *)
(* patched by one livepatch, on call stacks at most D frames deep. One     *)
(* transition runs from "idle" (not started) through "trans" (tasks        *)
(* switching) to "done". A frame is <<function, version>>, version 0 the   *)
(* original code and 1 the new.                                            *)
(*                                                                         *)
(* Checked with TLC (toy/Toy.cfg, N = 5) it should report the distinct     *)
(* states of toy/README.md; the machine this was written on has no TLC,   *)
(* so the spec is for readers: it was parsed, not model-checked.           *)
(***************************************************************************)
EXTENDS Naturals, Sequences

CONSTANTS N, D, NF, NP

Tasks == 1..N
Funcs == 0..(NF - 1)
Patched(f) == f < NP

VARIABLES
    phase,    \* "idle", "trans" or "done"
    patched,  \* patched[t]: task->patch_state, 0 unpatched or 1 patched
    ranNew,   \* ranNew[t]: t has called the new version of a patched function
    stack     \* stack[t]: t's frames, oldest first

vars == <<phase, patched, ranNew, stack>>

Init ==
    /\ phase = "idle"
    /\ patched = [t \in Tasks |-> 0]
    /\ ranNew = [t \in Tasks |-> FALSE]
    /\ stack = [t \in Tasks |-> <<>>]

(* What klp_ftrace_handler() runs for task t: the original before the       *)
(* transition starts, the new code once it is done, the task's own state    *)
(* in between.                                                              *)
Version(t) ==
    CASE phase = "idle" -> 0
      [] phase = "done" -> 1
      [] OTHER -> patched[t]

Call(t, f) ==
    /\ Len(stack[t]) < D
    /\ LET v == IF Patched(f) THEN Version(t) ELSE 0
       IN /\ stack' = [stack EXCEPT ![t] = Append(@, <<f, v>>)]
          /\ ranNew' = [ranNew EXCEPT ![t] = @ \/ (Patched(f) /\ v = 1)]
    /\ UNCHANGED <<phase, patched>>

Return(t) ==
    /\ stack[t] # <<>>
    /\ stack' = [stack EXCEPT ![t] = SubSeq(@, 1, Len(@) - 1)]
    /\ UNCHANGED <<phase, patched, ranNew>>

(* klp_update_patch_state() at kernel exit, with nothing on the stack.      *)
SwitchSelf(t) ==
    /\ phase = "trans"
    /\ stack[t] = <<>>
    /\ patched[t] = 0
    /\ patched' = [patched EXCEPT ![t] = 1]
    /\ UNCHANGED <<phase, ranNew, stack>>

(* klp_start_transition().                                                  *)
Start ==
    /\ phase = "idle"
    /\ phase' = "trans"
    /\ UNCHANGED <<patched, ranNew, stack>>

(* klp_check_stack(): no patched function anywhere on t's stack.            *)
StackClean(t) == \A k \in 1..Len(stack[t]) : ~Patched(stack[t][k][1])

(* klp_try_complete_transition(): one pass switches every unpatched task    *)
(* whose stack is clean, and completes the transition if none is left.      *)
TryComplete ==
    /\ phase = "trans"
    /\ LET after == [t \in Tasks |->
                        IF patched[t] = 0 /\ StackClean(t) THEN 1 ELSE patched[t]]
       IN /\ patched' = after
          /\ phase' = IF \A t \in Tasks : after[t] = 1 THEN "done" ELSE "trans"
    /\ UNCHANGED <<ranNew, stack>>

Next ==
    \/ Start
    \/ TryComplete
    \/ \E t \in Tasks :
          \/ Return(t)
          \/ SwitchSelf(t)
          \/ \E f \in Funcs : Call(t, f)

Spec == Init /\ [][Next]_vars

(* P1: once a task ran a new version, every patched frame on its stack is   *)
(* new.                                                                     *)
NoOldAfterNew ==
    \A t \in Tasks : ranNew[t] =>
        \A k \in 1..Len(stack[t]) : Patched(stack[t][k][1]) => stack[t][k][2] = 1

(* P2: the patched frames on one stack run one version.                     *)
NoMixedVersions ==
    \A t \in Tasks : \A j, k \in 1..Len(stack[t]) :
        (Patched(stack[t][j][1]) /\ Patched(stack[t][k][1])) =>
            stack[t][j][2] = stack[t][k][2]

TypeOK ==
    /\ phase \in {"idle", "trans", "done"}
    /\ patched \in [Tasks -> {0, 1}]
    /\ ranNew \in [Tasks -> BOOLEAN]
=============================================================================
