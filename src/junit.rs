//! A JUnit XML report for CI systems (the de-facto schema of Jenkins, GitLab and the GitHub
//! test-report actions): one `<testsuite>` per scenario x variant, one `<testcase>` per
//! property plus one for the distinct-state count, a `<failure>` for each difference.

use std::fmt::Write;

pub struct Suite {
    /// `<scenario>@<variant>`.
    pub name: String,
    pub seconds: f64,
    pub cases: Vec<Case>,
}

pub struct Case {
    pub name: String,
    /// The difference (one line) and its details, if the case failed.
    pub failure: Option<(String, String)>,
}

/// The report's text.
pub fn render(suites: &[Suite]) -> String {
    let count = |f: &dyn Fn(&Case) -> bool| suites.iter().flat_map(|s| &s.cases).filter(|c| f(c)).count();
    let (tests, failures) = (count(&|_| true), count(&|c| c.failure.is_some()));
    let total: f64 = suites.iter().map(|s| s.seconds).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(x, "<testsuites name=\"klpcheck ci\" tests=\"{tests}\" failures=\"{failures}\" time=\"{total:.3}\">");
    for s in suites {
        let failed = s.cases.iter().filter(|c| c.failure.is_some()).count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{:.3}\">",
            escape(&s.name),
            s.cases.len(),
            s.seconds
        );
        for c in &s.cases {
            let open = format!("    <testcase classname=\"{}\" name=\"{}\"", escape(&s.name), escape(&c.name));
            match &c.failure {
                None => {
                    let _ = writeln!(x, "{open}/>");
                }
                Some((message, body)) => {
                    let _ = writeln!(x, "{open}>");
                    let _ = writeln!(x, "      <failure message=\"{}\">{}</failure>", escape(message), escape(body));
                    let _ = writeln!(x, "    </testcase>");
                }
            }
        }
        let _ = writeln!(x, "  </testsuite>");
    }
    x += "</testsuites>\n";
    x
}

/// XML character data and attribute values: the five predefined entities, and characters XML
/// 1.0 does not allow replaced by U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&apos;",
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_escapes_and_counts() {
        let suites = vec![Suite {
            name: "a&b@upstream".into(),
            seconds: 0.5,
            cases: vec![
                Case { name: "p1".into(), failure: None },
                Case {
                    name: "p<2>".into(),
                    failure: Some(("expected \"holds\", got 'violated'".into(), "x\u{1}".into())),
                },
            ],
        }];
        assert_eq!(
            render(&suites),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"klpcheck ci\" tests=\"2\" failures=\"1\" time=\"0.500\">\n\
             \x20 <testsuite name=\"a&amp;b@upstream\" tests=\"2\" failures=\"1\" errors=\"0\" time=\"0.500\">\n\
             \x20   <testcase classname=\"a&amp;b@upstream\" name=\"p1\"/>\n\
             \x20   <testcase classname=\"a&amp;b@upstream\" name=\"p&lt;2&gt;\">\n\
             \x20     <failure message=\"expected &quot;holds&quot;, got &apos;violated&apos;\">x\u{FFFD}</failure>\n\
             \x20   </testcase>\n\
             \x20 </testsuite>\n\
             </testsuites>\n"
        );
    }
}
