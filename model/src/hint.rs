//! "Did you mean" hints for misspelt names in scenario, variant and expectation files.

/// The closest known name, if it is close enough to be a typo.
pub fn did_you_mean<'a, S: AsRef<str> + 'a>(word: &str, known: impl Iterator<Item = S>) -> Option<String> {
    known
        .map(|k| (strsim_distance(word, k.as_ref()), k.as_ref().to_string()))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!("did you mean '{k}'?"))
}

/// Levenshtein distance, for "did you mean" hints on short names.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
