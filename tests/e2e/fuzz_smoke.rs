//! The fuzz smoke run of the test command: each cargo-fuzz target's body (fuzz/bodies/) over
//! its seed corpus (fuzz/corpus/) and a few thousand mutations of it, on the stable toolchain.
//! Long runs are `cargo +nightly fuzz run <target>` (see docs/testing.md); this catches a
//! regression in seconds. Mutations are seeded, so a failure repeats.

use libtest_mimic::Trial;

use crate::support::{Needs, trial_sync};

#[path = "../../fuzz/bodies/arg_validation.rs"]
mod arg_validation;
#[path = "../../fuzz/bodies/condition_eval.rs"]
mod condition_eval;
#[path = "../../fuzz/bodies/jsonrpc_frame.rs"]
mod jsonrpc_frame;
#[path = "../../fuzz/bodies/policy_load.rs"]
mod policy_load;

/// Mutations per target (on top of the seeds).
const ROUNDS: usize = 20_000;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that make mutated JSON and YAML interesting rather than merely broken.
const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"1e309",
    b"0.5",
    b"\\u0000",
    b"\xff",
    b"\n",
    b"- ",
    b"*",
    b"action: deny",
    b"op: regex",
    b"value: [",
    b"path: args.",
    b"\"jsonrpc\":\"2.0\"",
    b"\"method\":\"tools/call\"",
    b"\"id\":",
    b"\"Statement\"",
    b"\"Effect\":\"Allow\"",
    b"\"Action\":\"*\"",
    b"\"Resource\":\"*\"",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(16) + 1).min(len);
                input.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(32) + 1).min(len);
                let chunk: Vec<u8> = input[a..b].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            4 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(input.len() + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            _ => {
                let cut = rng.below(len + 1);
                input.truncate(cut);
            }
        }
    }
}

fn smoke(target: &str, run: fn(&[u8])) {
    let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("seed"))
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{dir} holds no seed");
    for s in &seeds {
        run(s);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for round in 0..ROUNDS {
        let mut input = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &seeds, &mut input);
        let outcome = std::panic::catch_unwind(|| run(&input));
        if outcome.is_err() {
            panic!(
                "{target}: crash on mutation {round}; input (hex): {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
    }
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial_sync("fuzz_smoke::policy_load", Needs::Nothing, || {
            smoke("policy_load", policy_load::run)
        }),
        trial_sync("fuzz_smoke::condition_eval", Needs::Nothing, || {
            smoke("condition_eval", condition_eval::run)
        }),
        trial_sync("fuzz_smoke::arg_validation", Needs::Nothing, || {
            smoke("arg_validation", arg_validation::run)
        }),
        trial_sync("fuzz_smoke::jsonrpc_frame", Needs::Nothing, || {
            smoke("jsonrpc_frame", jsonrpc_frame::run)
        }),
    ]
}
