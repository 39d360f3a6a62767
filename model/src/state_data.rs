//! The data of a `klp_state` (`struct klp_state.data`, include/linux/livepatch.h: "data:
//! custom data"): what the test_klp_state modules' callbacks allocate, hand over and free
//! ([`crate::test_modules::test_klp_state`]). Only scenarios whose callbacks declare a
//! `klp_state` behaviour carry it ([`State::klp_state_data`] is empty otherwise, so no other
//! state count changes).
//!
//! One byte per livepatch `p`: bits 0..=3 are `p`'s `klp_state` data pointer (0 = NULL, `s + 1`
//! = allocation slot `s`); bits 4..=5 are the life of allocation slot `p` (slots are numbered
//! like the patches, but any patch's pointer may point at any slot). A slot that no pointer
//! references is collected at once: live, it has leaked ([`Event::KlpStateDataLeaked`]); freed,
//! it is forgotten (so a state does not remember garbage). `MAX_PATCHES` (8, plus a derived
//! patch) fits the 4 bits.
//!
//! Which pointers count: those of the patches on `klp_patches`, the only `klp_state`s the
//! livepatch API reaches (`klp_get_state()` of the patch's own callbacks, `klp_get_prev_state()`
//! of a later patch's). `klp_free_patch_start()` takes a patch off the list and clears its
//! pointer here: its module stays loaded until rmmod, but none of its callbacks runs again and
//! no later patch can find its state.

use crate::ids::PatchId;
use crate::state::{Event, Site, State};

/// The life of one allocation slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Unused = 0,
    /// `kzalloc()`ed, not yet `kfree()`d.
    Live = 1,
    /// `kfree()`d while some pointer still points at it.
    Freed = 2,
}

const PTR: u8 = 0x0f;

impl State {
    /// Patch `p`'s `klp_state` data pointer: the allocation slot, or `None` for NULL.
    pub fn klp_state_data_ptr(&self, p: PatchId) -> Option<u8> {
        (self.klp_state_data[p as usize] & PTR).checked_sub(1)
    }

    fn slot(&self, s: u8) -> Slot {
        match self.klp_state_data[s as usize] >> 4 {
            0 => Slot::Unused,
            1 => Slot::Live,
            _ => Slot::Freed,
        }
    }

    fn set_slot(&mut self, s: u8, life: Slot) {
        let b = &mut self.klp_state_data[s as usize];
        *b = (*b & PTR) | (life as u8) << 4;
    }

    /// Point patch `p`'s `klp_state` data at slot `s` (`None`: NULL), then collect the slots no
    /// pointer references any more.
    pub fn set_klp_state_data_ptr(&mut self, p: PatchId, s: Option<u8>) {
        let b = &mut self.klp_state_data[p as usize];
        *b = (*b & !PTR) | s.map_or(0, |s| s + 1);
        self.collect_klp_state_data();
    }

    /// A slot no pointer references: live, it leaked; freed, it is forgotten.
    fn collect_klp_state_data(&mut self) {
        for s in 0..self.klp_state_data.len() as u8 {
            if self.slot(s) == Slot::Unused
                || (0..self.klp_state_data.len() as u8).any(|p| self.klp_state_data_ptr(p) == Some(s))
            {
                continue;
            }
            if self.slot(s) == Slot::Live {
                self.event(Event::KlpStateDataLeaked);
            }
            self.set_slot(s, Slot::Unused);
        }
    }

    /// `loglevel_state->data = kzalloc(...)` for patch `p`: the old pointer is overwritten, the
    /// new allocation takes the first unused slot (one exists: at most one slot per other
    /// patch's pointer is referenced).
    pub fn klp_state_data_kzalloc(&mut self, p: PatchId) {
        self.set_klp_state_data_ptr(p, None);
        let s = (0..self.klp_state_data.len() as u8).find(|&s| self.slot(s) == Slot::Unused).unwrap_or(0);
        self.set_slot(s, Slot::Live);
        self.set_klp_state_data_ptr(p, Some(s));
    }

    /// `kfree(loglevel_state->data)` of patch `p`: NULL is a no-op; a freed slot is a double
    /// free.
    pub fn klp_state_data_kfree(&mut self, p: PatchId) {
        let Some(s) = self.klp_state_data_ptr(p) else { return };
        match self.slot(s) {
            Slot::Live => {
                self.reach(Site::KlpStateDataFreed);
                self.set_slot(s, Slot::Freed);
            }
            _ => self.event(Event::KlpStateDataUseAfterFree),
        }
    }

    /// `*(int *)loglevel_state->data` read or written by a callback of patch `p`.
    pub fn klp_state_data_deref(&mut self, p: PatchId) {
        match self.klp_state_data_ptr(p).map(|s| self.slot(s)) {
            None => self.event(Event::KlpStateDataMissing),
            Some(Slot::Live) => self.reach(Site::KlpStateDataUsed),
            Some(_) => self.event(Event::KlpStateDataUseAfterFree),
        }
    }

    /// `klp_free_patch_start()` took patch `p` off `klp_patches`: its `klp_state` is out of
    /// reach (see the module comment).
    pub fn klp_state_data_forget(&mut self, p: PatchId) {
        if !self.klp_state_data.is_empty() {
            self.set_klp_state_data_ptr(p, None);
        }
    }
}
