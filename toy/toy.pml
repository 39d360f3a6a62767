/*
 * toy.pml: the toy livepatch transition model of klp-toy (toy/src/lib.rs) in Promela, for
 * SPIN. toy/README.md describes the model and the figures; toy/Toy.tla is the same model in
 * TLA+.
 *
 * One process per task and one for the transition side (klp_transition_work). Every step is
 * one d_step that starts and ends at its process's loop head, so the program counters SPIN
 * stores are constant once the processes run, and the locals are zeroed at the end of each
 * step: SPIN's stored states are the model's distinct states plus the few states of `init`
 * starting the processes (toy/README.md gives both counts).
 *
 *   spin -DN=5 -a toy.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 *
 * Knobs: -DN=tasks (default 3, at most 15), -DD=stack depth (2), -DNF=functions (2, at most
 * 4), -DNP=functions 0..NP-1 are patched (NF). -DBUGGY: klp_try_complete_transition()
 * switches a task without looking at its stack, so P1 and P2 fail (SPIN writes a trail).
 */

#ifndef N
#define N 3
#endif
#ifndef D
#define D 2
#endif
#ifndef NF
#define NF 2
#endif
#ifndef NP
#define NP NF
#endif

/* Where the one transition is: not started, tasks switching, complete. */
#define IDLE  0
#define TRANS 1
#define DONE  2

byte phase = IDLE;
bit patched[N];     /* task->patch_state: 0 unpatched, 1 patched */
bit ran_new[N];     /* the task has called the new version of a patched function */
byte depth[N];      /* frames on the task's stack */
byte func[N * D];   /* frame k of task t is (func[t * D + k], ver[t * D + k]) */
bit ver[N * D];

#define FRAME(t, k) ((t) * D + (k))
#define IS_PATCHED(f) ((f) < NP)

/* The version klp_ftrace_handler() runs for task t: the original before the transition
 * starts, the new one once it is complete, and in between the task's own patch_state. */
#define VERSION(t) (phase == IDLE -> 0 : (phase == DONE -> 1 : patched[t]))

/* Task `me` calls function F (if the model has it): push (F, version). P1 and P2 can only
 * break on a call (a return removes a frame, a switch changes patched[] only), so they are
 * asserted here, over the whole stack. */
inline call(F) {
    d_step {
        NF > F && depth[me] < D ->
        if
        :: IS_PATCHED(F) -> v = VERSION(me)
        :: else -> v = 0
        fi;
        func[FRAME(me, depth[me])] = F;
        ver[FRAME(me, depth[me])] = v;
        depth[me]++;
        if
        :: IS_PATCHED(F) && v -> ran_new[me] = 1
        :: else -> skip
        fi;
        k = 0;
        do
        :: k < depth[me] ->
            /* P1: once it ran a new version, no old patched frame is on its stack */
            assert(!ran_new[me] || !IS_PATCHED(func[FRAME(me, k)]) || ver[FRAME(me, k)]);
            /* P2: the patched frames on one stack run one version */
            assert(!IS_PATCHED(func[FRAME(me, k)]) || !IS_PATCHED(F) || ver[FRAME(me, k)] == v);
            k++
        :: else -> break
        od;
        k = 0;
        v = 0
    }
}

proctype task(byte me) {
    byte k;
    bit v;
end:
    do
    :: call(0)
    :: call(1)
    :: call(2)
    :: call(3)
    :: d_step {   /* return: pop the top frame, zeroed so that equal stacks are equal bytes */
        depth[me] > 0 ->
        depth[me]--;
        func[FRAME(me, depth[me])] = 0;
        ver[FRAME(me, depth[me])] = 0
    }
    :: d_step {   /* klp_update_patch_state() at kernel exit: nothing of the patch on the stack */
        phase == TRANS && depth[me] == 0 && !patched[me] ->
        patched[me] = 1
    }
    od
}

proctype transition_work() {
    byte t, k;
    bit clean, all;
end:
    do
    :: d_step {   /* klp_start_transition() */
        phase == IDLE ->
        phase = TRANS
    }
    :: d_step {   /* klp_try_complete_transition(): try to switch every unpatched task */
        phase == TRANS ->
        all = 1;
        t = 0;
        do
        :: t < N ->
            if
            :: !patched[t] ->
                clean = 1;
#ifndef BUGGY
                /* klp_check_stack(): a patched function on the stack keeps the task back */
                k = 0;
                do
                :: k < depth[t] ->
                    if
                    :: IS_PATCHED(func[FRAME(t, k)]) -> clean = 0
                    :: else -> skip
                    fi;
                    k++
                :: else -> break
                od;
#endif
                if
                :: clean -> patched[t] = 1
                :: else -> all = 0
                fi
            :: else -> skip
            fi;
            t++
        :: else -> break
        od;
        if
        :: all -> phase = DONE   /* klp_complete_transition() */
        :: else -> skip
        fi;
        t = 0;
        k = 0;
        clean = 0;
        all = 0
    }
    od
}

init {
    atomic {
        byte i;
        do
        :: i < N -> run task(i); i++
        :: else -> break
        od;
        run transition_work();
        i = 0
    }
}

/* Completion is not promised: a task may call and return forever with a patched function
 * always on its stack at the passes. spin -DCOMPLETES -a toy.pml; gcc -o pan pan.c;
 * ./pan -a finds that cycle. */
#ifdef COMPLETES
ltl completes { <> (phase == DONE) }
#endif
