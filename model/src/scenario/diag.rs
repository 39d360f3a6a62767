//! Turning TOML parser errors into scenario errors: which field a byte offset belongs to
//! (`tasks.count`), "did you mean" for unknown keys, and positions in non-UTF-8 files.

use crate::hint::did_you_mean;

/// 1-based line and column of a byte offset (columns count bytes, as the TOML parser's do).
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

/// Line and column of the first byte that is not UTF-8.
pub(crate) fn utf8_position(bytes: &[u8], e: &std::str::Utf8Error) -> (usize, usize) {
    let valid = &bytes[..e.valid_up_to()];
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = valid.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
    (line, valid.len() - start + 1)
}

/// The trailing bare key of `s` (letters, digits, `_`, `-`), if any.
fn trailing_key(s: &str) -> Option<&str> {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    (start < s.len()).then(|| &s[start..])
}

/// The dotted path of the field at `offset`: the last `[table]` / `[[array]]` header before
/// it, the key of an enclosing inline array (`ops = [{ ... }]`), and the key on its line.
/// Heuristic (it reads text, not the parse tree), good enough for error messages.
pub(crate) fn field_at(src: &str, offset: usize) -> String {
    field_parts(src, offset).0.join(".")
}

/// The parts of [`field_at`], and whether the last one is the innermost of several keys on
/// the line (a key inside an inline table).
fn field_parts(src: &str, offset: usize) -> (Vec<String>, bool) {
    let offset = {
        let mut o = offset.min(src.len());
        while !src.is_char_boundary(o) {
            o -= 1;
        }
        o
    };
    let line_start = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before = &src[..line_start];
    let this_line = &src[line_start..offset];
    let mut parts: Vec<String> = Vec::new();
    let header = before.lines().rev().map(str::trim).find(|l| l.starts_with('[') && !l.starts_with("[{"));
    let header_here = src[line_start..].trim_start().starts_with('[');
    let header = if header_here { Some(src[line_start..].lines().next().unwrap_or("").trim()) } else { header };
    if let Some(h) = header {
        let name = h.trim_start_matches('[').split(']').next().unwrap_or("").trim();
        if !name.is_empty() {
            parts.push(name.to_string());
        }
    }
    if header_here {
        return (parts, false);
    }
    // An inline table inside an array that opened on an earlier line: `ops = [` ... `{ op = ... }`.
    if this_line.trim_start().starts_with('{') {
        if let Some(k) = before.lines().rev().find_map(|l| l.split_once('=').filter(|(_, v)| v.trim() == "[")) {
            if let Some(k) = trailing_key(k.0) {
                parts.push(k.to_string());
            }
        }
    }
    // Keys on this line before the offset: the first (outer) and the last (innermost) of the
    // inline table the offset is in; none of an inline table already closed (a list element
    // after `{ ... }`, as in `funcs = [{ name = "f" }, 3]`).
    let depth = |s: &str| s.matches('{').count() as isize - s.matches('}').count() as isize;
    let here = depth(this_line);
    let keys: Vec<(&str, isize)> = this_line
        .match_indices('=')
        .filter_map(|(i, _)| Some((trailing_key(&this_line[..i])?, depth(&this_line[..i]))))
        .collect();
    // A line that starts an element of an array opened on an earlier line (`{ op = ... }`) has
    // no outer key of its own: its keys are siblings.
    let element = this_line.trim_start().starts_with('{');
    let outer = if element { None } else { keys.first() };
    if let Some(first) = outer {
        parts.push(first.0.to_string());
    }
    let skip = usize::from(outer.is_some());
    let inner = keys.iter().skip(skip).rev().find(|k| here > 0 && k.1 == here);
    if let Some(last) = inner {
        parts.push(last.0.to_string());
    }
    (parts, inner.is_some())
}

/// Field, message and hint for an error of the TOML parser or of serde.
pub(crate) fn toml_error(src: &str, e: &toml::de::Error) -> (std::ops::Range<usize>, String, String, String) {
    let span = e.span().unwrap_or(0..0);
    let msg = e.message().trim_end().to_string();
    let names: Vec<&str> = msg.split('`').skip(1).step_by(2).collect();
    let base = field_at(src, span.start);
    let join = |k: &str| if base.is_empty() { k.to_string() } else { format!("{base}.{k}") };
    if msg.starts_with("unknown field") {
        let unknown = names.first().copied().unwrap_or("");
        // The span is the key itself: the path is the enclosing table.
        let line_start = src[..span.start.min(src.len())].rfind('\n').map(|i| i + 1).unwrap_or(0);
        // An unknown table (`[bound]`, `[[patch]]`): the header names it in full.
        if src[line_start..].trim_start().starts_with('[') {
            let field = field_at(src, span.start);
            let hint = did_you_mean(unknown, names.iter().skip(1))
                .unwrap_or_else(|| format!("known keys here: {}", names.get(1..).unwrap_or(&[]).join(", ")));
            return (span, field, msg, hint);
        }
        let table = {
            let inline = src[line_start..span.start.min(src.len())].contains('=');
            if inline {
                let (mut parts, inner) = field_parts(src, span.start);
                if inner {
                    parts.pop();
                }
                parts.join(".")
            } else {
                field_at(&src[..line_start], line_start)
            }
        };
        let field = if table.is_empty() { unknown.to_string() } else { format!("{table}.{unknown}") };
        let hint = did_you_mean(unknown, names.iter().skip(1))
            .unwrap_or_else(|| format!("known keys here: {}", names.get(1..).unwrap_or(&[]).join(", ")));
        return (span, field, msg, hint);
    }
    if msg.starts_with("missing field") {
        let missing = names.first().copied().unwrap_or("");
        return (span, join(missing), msg.clone(), format!("add `{missing} = ...` to this table"));
    }
    if msg.starts_with("unknown variant") {
        let value = names.first().copied().unwrap_or("");
        let hint = did_you_mean(value, names.iter().skip(1))
            .unwrap_or_else(|| format!("one of: {}", names.get(1..).unwrap_or(&[]).join(", ")));
        return (span, base, msg, hint);
    }
    if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        let msg = plain_types(&msg);
        return (span, base.clone(), msg, type_hint(&base));
    }
    // The TOML parser's own word for a value of the wrong type where a string is expected (an
    // enum such as `sleeps = true`): valid TOML, the wrong kind of value.
    if msg.starts_with("wanted string or table") {
        let value = src.get(span.clone()).unwrap_or("").trim();
        let msg = format!("invalid type: `{value}`, expected a string");
        return (span, base.clone(), msg, type_hint(&base));
    }
    let field = if base.is_empty() { "(syntax)".to_string() } else { base };
    (span, field, msg, "this is not valid TOML here (see docs/scenario.md)".into())
}

/// serde's type words in user terms: no Rust type names (`u32`, `struct RawState`) in errors.
fn plain_types(msg: &str) -> String {
    let mut out = msg.to_string();
    for (rust, plain) in [
        ("expected u8", "expected an integer 0..=255"),
        ("expected u32", "expected an integer 0..=4294967295"),
        ("expected u64", "expected an integer ≥ 0"),
        ("expected i32", "expected an integer -2147483648..=2147483647"),
        ("expected i64", "expected an integer"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{plain}");
        }
    }
    // `expected struct RawState`, `expected enum Sleeps`.
    for (word, plain) in [("struct ", "a table"), ("enum ", "a string")] {
        if let Some(i) = out.rfind(&format!("expected {word}")) {
            out = format!("{}expected {plain}", &out[..i]);
        }
    }
    out
}

/// The hint for a value of the wrong type: the field's values or type, from the schema.
fn type_hint(field: &str) -> String {
    let values = super::schema::values_at(field);
    if !values.is_empty() {
        return format!("one of: {}", values.join(", "));
    }
    match super::schema::type_at(field) {
        Some(t) => format!("`{field}` is {} (docs/scenario.md)", with_article(&t)),
        None => "docs/scenario.md lists every key and its type".into(),
    }
}

fn with_article(t: &str) -> String {
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {t}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths() {
        let src = "[[tasks]]\ncomm = \"a\"\ncount = \"x\"\n[admin]\nops = [{ op = \"insmood\" }]\n";
        assert_eq!(field_at(src, src.find("\"x\"").unwrap()), "tasks.count");
        assert_eq!(field_at(src, src.find("\"insmood\"").unwrap()), "admin.ops.op");
        let src = "[admin]\nops = [\n  { op = 3 },\n]\n";
        assert_eq!(field_at(src, src.find('3').unwrap()), "admin.ops.op");
        assert_eq!(field_at("x = 1", 4), "x");
        let src = "[[patches.objects]]\nfuncs = [{ name = \"f\", sleeps = \"never\" }, 3]\n";
        assert_eq!(field_at(src, src.find('3').unwrap()), "patches.objects.funcs");
        assert_eq!(field_at(src, src.find("\"never").unwrap()), "patches.objects.funcs.sleeps");
        assert_eq!(field_at("a = 1\n[tasks]\n", 6), "tasks");
        assert_eq!(line_col("a\nbé", 4), (2, 2));
        // An element of an array opened on an earlier line: its keys are siblings.
        let src = "[admin]\nops = [\n  { op = \"insmod\", wait = \"maybe\" },\n]\n";
        assert_eq!(field_at(src, src.find("\"maybe").unwrap()), "admin.ops.wait");
        assert_eq!(
            plain_types("invalid type: integer `1`, expected struct RawState"),
            "invalid type: integer `1`, expected a table"
        );
        assert_eq!(
            plain_types("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected an integer 0..=4294967295"
        );
    }
}
