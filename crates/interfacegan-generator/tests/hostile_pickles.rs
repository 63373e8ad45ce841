//! Pickles that try to run code, in every place a weight pickle can hold a callable: each is refused
//! with an error that names what it asked for, and the command it carries never runs.

use interfacegan_generator::Weights;

fn text(s: &str) -> Vec<u8> {
    let mut out = vec![b'X'];
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
    out
}

fn global(module: &str, name: &str) -> Vec<u8> {
    format!("c{module}\n{name}\n").into_bytes()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `callable(argument)` as GLOBAL + args tuple + REDUCE: pushes one value.
fn call(module: &str, name: &str, argument: &str) -> Vec<u8> {
    concat(&[&global(module, name), b"(", &text(argument), b"tR"])
}

/// Wraps a value-pushing fragment `e` into the places a weight pickle can hold it.
fn positions(e: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let persistent = global("torch_utils.persistence", "_reconstruct_persistent_obj");
    let record =
        concat(&[b"(}(", &text("type"), &text("class"), &text("class_name"), &text("G"), &text("state"), e, b"ut"]);
    let blob =
        concat(&[b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.\x80\x02}.\x80\x02", e, b".\x80\x02]."]);
    let mut blob_arg = vec![b'B'];
    blob_arg.extend((blob.len() as u32).to_le_bytes());
    blob_arg.extend(&blob);
    vec![
        ("the root", concat(&[b"\x80\x02", e, b"."])),
        ("G_ema", concat(&[b"\x80\x02}", &text("G_ema"), e, b"s."])),
        ("a module's state", concat(&[b"\x80\x02", &persistent, &record, b"R."])),
        ("a persistent id", concat(&[b"\x80\x02(", &text("storage"), e, &text("0"), &text("cpu"), b"K\x01tQ."])),
        (
            "an embedded storage",
            concat(&[b"\x80\x02", &global("torch.storage", "_load_from_bytes"), b"(", &blob_arg, b"tR."]),
        ),
        ("a legacy checkpoint", blob.clone()),
        ("a list", concat(&[b"\x80\x02](", e, b"e."])),
    ]
}

#[test]
fn code_in_any_position_is_refused_and_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let m = marker.display().to_string();
    let touch = format!("touch {m}");
    let python = format!("__import__('os').system('touch {m}')");
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("posix.system", call("posix", "system", &touch)),
        ("os.system", call("os", "system", &touch)),
        ("nt.system", call("nt", "system", &touch)),
        ("builtins.eval", call("builtins", "eval", &python)),
        ("builtins.exec", call("builtins", "exec", &python)),
        ("__builtin__.eval", call("__builtin__", "eval", &python)),
        ("subprocess.Popen", call("subprocess", "Popen", &touch)),
        ("subprocess.check_output", call("subprocess", "check_output", &touch)),
        // STACK_GLOBAL (protocol 4) instead of GLOBAL.
        ("os.system", concat(&[b"\x8c\x02os\x8c\x06system\x93(", &text(&touch), b"tR"])),
        // NEWOBJ on a refused class.
        ("subprocess.Popen", concat(&[&global("subprocess", "Popen"), b"(", &text(&touch), b"t)\x81"])),
    ];
    let mut cases = 0;
    for (name, payload) in &payloads {
        for (place, bytes) in positions(payload) {
            let err = Weights::from_bytes(&bytes, "evil.pkl").expect_err(&format!("{name} in {place} was accepted"));
            let message = err.to_string();
            assert!(message.starts_with("evil.pkl: "), "{name} in {place}: {message}");
            assert!(message.contains(name), "{name} in {place}: {message}");
            cases += 1;
        }
    }
    // INST and OBJ, the protocol-0/1 ways to call a class, are not interpreted at all.
    for bytes in [
        concat(&[b"\x80\x02(", &text(&touch), b"iposix\nsystem\n."]),
        concat(&[b"\x80\x02(", &global("os", "system"), &text(&touch), b"o."]),
    ] {
        let message = Weights::from_bytes(&bytes, "evil.pkl").unwrap_err().to_string();
        assert!(message.contains("opcode") || message.contains("os.system"), "{message}");
        cases += 1;
    }
    assert_eq!(cases, 72);
    assert!(!marker.exists(), "a refused pickle ran its command");
}
