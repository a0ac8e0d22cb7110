//! Idempotency: one request per key, replays answered from the record,
//! another request under the key refused, a running key held.

use proptest::prelude::*;

use super::*;

#[test]
fn the_record_decides_the_verdict() {
    assert_eq!(verdict::<[u8; 2], ()>(&[1, 2], None), Verdict::Run);
    assert_eq!(
        verdict(&[1, 2], Some((&[1, 2], "first"))),
        Verdict::Replay("first")
    );
    assert_eq!(verdict(&[1, 2], Some((&[9, 9], "first"))), Verdict::Reused);
}

#[test]
fn a_running_key_is_held_until_its_request_ends() {
    let mut idem = Idempotency::new();
    assert_eq!(idem.begin("k"), Ok(()));
    assert!(idem.is_running("k"));
    assert_eq!(idem.begin("k"), Err(InProgress), "a second attempt waits");
    assert_eq!(idem.begin("other"), Ok(()), "keys are held one by one");
    // No record: the request runs, and its key stays held while it does.
    assert_eq!(idem.settle::<u8, ()>("k", &1, None), Verdict::Run);
    assert_eq!(idem.begin("k"), Err(InProgress));
    idem.end("k");
    assert!(!idem.is_running("k"));
    assert_eq!(idem.begin("k"), Ok(()), "ended: free again");
}

#[test]
fn a_replay_or_a_refusal_lets_the_key_go() {
    let mut idem = Idempotency::new();
    idem.begin("k").unwrap();
    assert_eq!(idem.settle("k", &1u8, Some((&1, 42))), Verdict::Replay(42));
    assert!(!idem.is_running("k"));
    idem.begin("k").unwrap();
    assert_eq!(idem.settle("k", &2u8, Some((&1, 42))), Verdict::Reused);
    assert!(!idem.is_running("k"));
}

#[test]
fn answers_in_memory_keep_the_first_and_forget_lost_ones() {
    let mut a: Answers<u8, &str> = Answers::default();
    assert_eq!(a.verdict("k", &1), Verdict::Run);
    assert!(a.record("k".into(), 1, "first"));
    assert_eq!(a.verdict("k", &1), Verdict::Replay(&"first"));
    assert_eq!(a.verdict("k", &2), Verdict::Reused);
    assert!(!a.record("k".into(), 2, "second"), "a key answers once");
    assert_eq!(a.verdict("k", &1), Verdict::Replay(&"first"));
    a.forget("k");
    assert_eq!(a.verdict("k", &1), Verdict::Run);
    let rebuilt: Answers<u8, u32> = [("a".to_owned(), 1, 10), ("a".to_owned(), 2, 20)]
        .into_iter()
        .collect();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt.verdict("a", &1), Verdict::Replay(&10));
}

/// A client's attempt: which key, which request (fingerprint).
#[derive(Debug, Clone)]
enum Step {
    /// An attempt begins (holds its key, reads the record, settles).
    Try { key: u8, request: u8 },
    /// The oldest running attempt ends: committed (its answer recorded) or
    /// refused (nothing recorded).
    End { commit: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 0u8..2).prop_map(|(key, request)| Step::Try { key, request }),
        any::<bool>().prop_map(|commit| Step::End { commit }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any interleaving of attempts of a few requests under a few keys,
    /// as a node's concurrent clients make them: at most one attempt per
    /// key runs at a time; each key commits at most one request; an attempt
    /// after a commit replays that request's answer if it is that request
    /// and is refused as reused otherwise; a refused attempt leaves the key
    /// free for a retry.
    #[test]
    fn a_key_commits_one_request_and_answers_it_ever_after(
        steps in proptest::collection::vec(step(), 0..80),
    ) {
        let mut idem = Idempotency::new();
        let mut answers: Answers<u8, (u8, usize)> = Answers::default();
        let mut running: Vec<(u8, u8)> = Vec::new();
        let mut committed: Vec<Option<(u8, usize)>> = vec![None; 3];
        for (i, s) in steps.into_iter().enumerate() {
            match s {
                Step::Try { key, request } => {
                    let k = format!("k{key}");
                    let was_running = running.iter().any(|&(rk, _)| rk == key);
                    if idem.begin(&k).is_err() {
                        prop_assert!(was_running, "in progress only while running");
                        continue;
                    }
                    prop_assert!(!was_running, "two attempts of one key never run");
                    match idem.settle(&k, &request, answers.get(&k)) {
                        Verdict::Run => {
                            prop_assert!(committed[key as usize].is_none());
                            running.push((key, request));
                        }
                        Verdict::Replay(&(r, at)) => {
                            prop_assert_eq!(Some((r, at)), committed[key as usize]);
                            prop_assert_eq!(r, request);
                        }
                        Verdict::Reused => {
                            let (r, _) = committed[key as usize].expect("reused only once committed");
                            prop_assert_ne!(r, request);
                        }
                    }
                    prop_assert_eq!(idem.is_running(&k), running.iter().any(|&(rk, _)| rk == key));
                }
                Step::End { commit } => {
                    if running.is_empty() {
                        continue;
                    }
                    let (key, request) = running.remove(0);
                    let k = format!("k{key}");
                    if commit {
                        // The record commits with the op, then the key goes.
                        prop_assert!(answers.record(k.clone(), request, (request, i)));
                        committed[key as usize] = Some((request, i));
                    }
                    idem.end(&k);
                }
            }
        }
    }
}
