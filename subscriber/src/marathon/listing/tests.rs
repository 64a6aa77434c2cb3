use registry::harness::XorShift;

use super::*;

/// Each listed app as `id:tasks`.
fn ids(body: &str) -> Result<(usize, Vec<String>), ListingError> {
    let mut seen = Vec::new();
    let count = for_each_app([body.as_bytes()], &mut |app: model::App| {
        seen.push(format!(
            "{}:{}",
            app.id.unwrap_or_default(),
            app.tasks.map_or(0, |t| t.len())
        ))
    })?;
    Ok((count, seen))
}

/// Every app as it was parsed (its `Debug`), from `body` cut into `chunks`.
fn parsed<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    let count = for_each_app(chunks, &mut |app: model::App| seen.push(format!("{app:?}")))
        .map_err(|e| e.to_string())?;
    assert_eq!(count, seen.len());
    Ok(seen)
}

/// What a whole-body parse makes of `body` under the listing's rules: the apps (their
/// `Debug`), or `None` when it is refused.
fn whole_body(body: &[u8]) -> Option<Vec<String>> {
    let list: model::AppList = serde_json::from_slice(body).ok()?;
    let apps = list.apps?;
    if apps.iter().any(|app| app.tasks.is_none()) {
        return None;
    }
    Some(apps.iter().map(|app| format!("{app:?}")).collect())
}

/// A listing with what trips a naive cutter: quotes, backslashes, brackets and braces inside
/// strings, escapes, nested containers and whitespace, and members around `apps`.
const TRICKY: &str = r#" {"before": {"x": ["]", "}", "\"", "\\"], "n": -1.5e3},
  "apps" : [
    {"id": "/a", "labels": {"q\"uote": "v\\", "br}ace": "[x]", "uni": "\u00e9\u005d"},
     "healthChecks": [{"path": "/}"}],
     "tasks": [{"id": "a.1", "host": "10.0.0.1", "ports": [31000], "state": "TASK_RUNNING"},
               {"id": "a.\"2\"", "host": "h\\ost", "ports": [], "ipAddresses": null}]},
    {"id":"/b","tasks":[]} ,
    {"id": "/c", "labels": null, "tasks": [{"id": "c.1", "version": "2026-01-01T00:00:00.000Z"}]}
  ],
  "after": [null, true, false, {}, [], "{"]
}
"#;

#[test]
fn every_app_is_handed_over_in_order_with_its_tasks() {
    let body = r#"{"other":[1,{"x":null}],"apps":[
        {"id":"/a","tasks":[{"id":"a.1"},{"id":"a.2"}]},
        {"id":"/b","tasks":[]}],"tail":"ignored"}"#;
    assert_eq!(
        ids(body).expect("listing"),
        (2, vec!["/a:2".to_string(), "/b:0".to_string()])
    );
    assert_eq!(ids(r#"{"apps":[]}"#).expect("empty"), (0, vec![]));
    assert_eq!(
        ids(TRICKY).expect("tricky"),
        (3, vec!["/a:2".into(), "/b:0".into(), "/c:1".into()])
    );
}

#[test]
fn apps_are_parsed_as_a_whole_body_parse_reads_them() {
    let whole = whole_body(TRICKY.as_bytes()).expect("a valid listing");
    assert_eq!(parsed([TRICKY.as_bytes()]).expect("listing"), whole);
    assert!(whole[0].contains(r#""q\"uote": "v\\""#), "{}", whole[0]);
    assert!(whole[0].contains(r#""uni": "é]""#), "{}", whole[0]);
}

#[test]
fn an_app_split_across_chunks_at_any_byte_reads_the_same() {
    let body = TRICKY.as_bytes();
    let whole = parsed([body]).expect("listing");
    for at in 0..=body.len() {
        let (head, tail) = body.split_at(at);
        assert_eq!(parsed([head, tail]), Ok(whole.clone()), "split at {at}");
    }
    assert_eq!(parsed(body.chunks(1)), Ok(whole.clone()), "byte by byte");
    assert_eq!(parsed(body.chunks(7)), Ok(whole), "7 bytes at a time");
}

#[test]
fn a_truncated_body_is_an_error_wherever_it_stops() {
    let body = TRICKY.trim_end().as_bytes();
    for len in 0..body.len() {
        assert_eq!(
            parsed(body[..len].chunks(5)),
            Err(format!(
                "the answer ends at byte {len} before its JSON does"
            )),
        );
    }
    assert!(parsed(body.chunks(5)).is_ok());
}

#[test]
fn no_apps_list_and_apps_without_tasks_are_errors() {
    assert!(matches!(
        ids(r#"{"message":"x"}"#),
        Err(ListingError::NoApps)
    ));
    assert!(matches!(ids(r#"{"apps":null}"#), Err(ListingError::NoApps)));
    assert!(matches!(ids("{}"), Err(ListingError::NoApps)));
    match ids(r#"{"apps":[{"id":"/a","tasks":[]},{"id":"/b"}]}"#) {
        Err(ListingError::NoTasks(id)) => assert_eq!(id, "/b"),
        other => panic!("{other:?}"),
    }
    // `null` is absent: a later `apps` list still counts; after a list, another is skipped.
    assert_eq!(
        ids(r#"{"apps":null,"apps":[{"id":"/a","tasks":[]}]}"#).expect("listing"),
        (1, vec!["/a:0".to_string()])
    );
    assert_eq!(
        ids(r#"{"apps":[],"apps":[{"id":"/a","tasks":[]}]}"#).expect("listing"),
        (0, vec![])
    );
}

#[test]
fn broken_json_and_trailing_bytes_are_errors_that_say_where() {
    for (body, error) in [
        (r#"{"apps":[{"id":"/a","tasks":[]}"#, "ends at byte 31"),
        (
            r#"{"apps":[]} x"#,
            "expected nothing after the object at byte 12, found 'x'",
        ),
        (
            "[]",
            "expected an object with an \"apps\" list at byte 0, found '['",
        ),
        ("", "ends at byte 0"),
        (
            r#"{"apps":[{"id":"/a","tasks":[]},]}"#,
            "expected a value at byte 32, found ']'",
        ),
        (
            r#"{"apps":[{"id":"/a","tasks":[]} {}]}"#,
            "expected ',' or ']' after an app at byte 32",
        ),
        (r#"{"apps":[{"id":"/a","tasks":[}]}"#, "the app at byte 9:"),
        (
            r#"{"apps":[{"id":"/a","tasks":[]}],"x":[1,]}"#,
            "the member at byte 37:",
        ),
        (
            r#"{"apps":[{"id":"/a","tasks":[]}],"x" 1}"#,
            "expected ':' at byte 37, found '1'",
        ),
        (
            r#"{"apps":{}}"#,
            "\"apps\" at byte 8 is neither a list nor null",
        ),
        (r#"{"apps":[5]}"#, "the app at byte 9: invalid type"),
        (
            r#"{"apps":[{"id":"/a","tasks":[]}] "x":1}"#,
            "expected ',' or '}' at byte 33",
        ),
        (
            r#"{apps:[]}"#,
            "expected a member name at byte 1, found 'a'",
        ),
        ("{\"apps\":[]}\u{0}", "found byte 0x00"),
    ] {
        match ids(body) {
            Err(ListingError::Json(e)) => assert!(e.contains(error), "{body}: {e}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn mutated_listings_are_refused_or_read_exactly_as_a_whole_body_parse_reads_them() {
    const BYTES: &[u8] = b"{}[]\",:\\ 0an";
    let seed = TRICKY.as_bytes();
    let mut rng = XorShift(0x5eed_1157);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..4000 {
        let mut body = seed.to_vec();
        for _ in 0..=rng.below(3) {
            let at = rng.below(body.len());
            match rng.below(3) {
                0 => {
                    body.remove(at);
                }
                1 => body.insert(at, BYTES[rng.below(BYTES.len())]),
                _ => body[at] = BYTES[rng.below(BYTES.len())],
            }
        }
        let split = rng.below(body.len() + 1);
        let (head, tail) = body.split_at(split);
        let ours = parsed([head, tail]).ok();
        assert_eq!(
            ours,
            whole_body(&body),
            "round {round}: {}",
            String::from_utf8_lossy(&body)
        );
        if ours.is_some() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes were exercised.
    assert!(accepted > 100 && refused > 100, "{accepted} / {refused}");
}
