//! The `whydns` binary: `resolve` against the shared lab (dig-like output, `--trace`,
//! `--json`), `serve` and `lab` answering and exiting 0 on SIGTERM, and bad flags or files
//! refused with a message that names them.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use common::{udp_exchange, Ask};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const BIN: &str = env!("CARGO_BIN_EXE_whydns");

/// Root hints for the shared lab, written once per test binary.
fn hints() -> &'static PathBuf {
    static HINTS: OnceLock<PathBuf> = OnceLock::new();
    HINTS.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("whydns-cli-hints-{}", std::process::id()));
        std::fs::write(&path, whydns::lab::lab_root_hints(&common::lab().lab)).unwrap();
        path
    })
}

/// Runs `whydns resolve ARGS --root-hints H --upstream-port P`.
fn resolve(args: &[&str]) -> Output {
    let port = common::lab().running.port.to_string();
    Command::new(BIN)
        .arg("resolve")
        .args(args)
        .arg("--root-hints")
        .arg(hints())
        .arg("--trust-anchor")
        .arg(common::lab_anchor_file())
        .args(["--upstream-port", &port])
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn resolve_prints_status_flags_and_answer() {
    let out = resolve(&["valid.lab", "A"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("status: NOERROR"), "{text}");
    assert!(text.contains(";; flags: qr rd ra;"), "{text}");
    assert!(text.contains(";; ANSWER SECTION:"), "{text}");
    assert!(
        text.contains("valid.lab.\t") && text.contains("\tA\t192.0.2.1"),
        "{text}"
    );
    assert!(!text.contains("EDE:"), "{text}");
}

#[test]
fn resolve_failure_prints_ede_and_trace_tree() {
    let out = resolve(&["allow-query-none.lab.", "--trace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("status: SERVFAIL"), "{text}");
    assert!(
        text.contains("; EDE: 22 (No Reachable Authority): "),
        "{text}"
    );
    let port = common::lab().running.port;
    // Every query is in the tree: the root, the TLD, then the refusing server.
    assert!(
        text.contains(&format!("query 127.53.0.1:{port} (zone .)")),
        "{text}"
    );
    assert!(text.contains("referral . -> lab.:"), "{text}");
    assert!(
        text.contains(&format!(
            "lame server 127.53.58.1:{port} for allow-query-none.lab.: answered REFUSED"
        )),
        "{text}"
    );
    assert!(text.contains("finished: SERVFAIL"), "{text}");
}

#[test]
fn resolve_json_parses_with_ede_and_trace() {
    let out = resolve(&["allow-query-none.lab.", "a", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["rcode"], "SERVFAIL");
    assert_eq!(json["type"], "A");
    assert_eq!(json["ede"][0]["code"], 22);
    assert_eq!(json["outcome"]["outcome"], "failed");
    let events: Vec<&str> = json["trace"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(events.contains(&"query-sent"), "{events:?}");
    assert!(events.contains(&"server-failed"), "{events:?}");

    let out = resolve(&["www.cname-chain.lab.", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["rcode"], "NOERROR");
    let answers = json["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers[0].as_str().unwrap().contains("CNAME"));
}

#[test]
fn resolve_explain_prints_diagnosis_remedy_and_trace() {
    let out = resolve(&["--explain", "not-auth.lab", "A"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for wanted in [
        "question not-auth.lab. A",
        "answer SERVFAIL",
        "EDE 22: ",
        "cause: lame-delegation",
        "diagnosis: ns1.not-auth.lab. (",
        "remedy: ",
        "evidence #",
        ";; trace ",
    ] {
        assert!(text.contains(wanted), "no {wanted:?} in:\n{text}");
    }
}

#[test]
fn explain_without_a_server_says_what_to_check() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(BIN)
        .args(["explain", "1a2b3c4d", "--server"])
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is `whydns serve --control`"),
        "{}",
        stderr(&out)
    );
    let bad_id = Command::new(BIN)
        .args(["explain", "../../etc"])
        .output()
        .unwrap();
    assert_eq!(bad_id.status.code(), Some(1));
    assert!(
        stderr(&bad_id).contains("not an explanation id"),
        "{}",
        stderr(&bad_id)
    );
}

#[test]
fn bad_flags_and_files_are_refused_with_a_clear_message() {
    // Values the configuration rejects: exit 1, naming the setting.
    let out = Command::new(BIN)
        .args(["resolve", "valid.lab.", "--upstream-port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("upstream_port"), "{}", stderr(&out));

    let out = Command::new(BIN)
        .args(["resolve", "valid.lab.", "--no-ipv4", "--no-ipv6"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ipv4 and ipv6"), "{}", stderr(&out));

    // Usage errors are clap's: exit 2, naming the argument.
    let out = Command::new(BIN)
        .args(["resolve", "valid.lab.", "BOGUSTYPE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("BOGUSTYPE"), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args(["serve", "--allow", "not-a-network"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow"), "{}", stderr(&out));

    // A missing or broken configuration file: exit 1, naming the file (and line).
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/whydns.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/whydns.toml"),
        "{}",
        stderr(&out)
    );
    let file = std::env::temp_dir().join(format!("whydns-bad-{}.toml", std::process::id()));
    std::fs::write(&file, "listen = [\"127.0.0.1:5353\"]\nlisten_typo = 1\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains(&format!("{}:2", file.display())) && message.contains("listen_typo"),
        "{message}"
    );
}

/// An unusable line in a trust-anchor file is logged (file and line as fields of the JSON
/// log) and skipped; the anchor beside it is used (tests/trust_anchor_files.rs checks AD). A file of only unusable lines
/// stops the command with exit 1, naming the file.
#[test]
fn unusable_trust_anchor_lines_are_logged_with_file_and_line() {
    let ds = &common::lab().lab.root_ds[0];
    let hex: String = ds.digest.iter().map(|b| format!("{b:02x}")).collect();
    let good = format!(". IN DS {} RSASHA256 SHA-256 {hex}\n", ds.key_tag);
    let bad = format!(". IN DS {} RSASHA256 SHA-256 {}\n", ds.key_tag, &hex[..10]);
    let run = |text: &str| {
        let file = std::env::temp_dir().join(format!(
            "whydns-cli-anchor-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&file, text).unwrap();
        let port = common::lab().running.port.to_string();
        let out = Command::new(BIN)
            .args([
                "--log-format",
                "json",
                "resolve",
                "valid.lab.",
                "A",
                "--json",
            ])
            .arg("--root-hints")
            .arg(hints())
            .arg("--trust-anchor")
            .arg(&file)
            .args(["--upstream-port", &port])
            .output()
            .unwrap();
        (file, out)
    };
    let (file, out) = run(&format!("{good}{bad}"));
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|entry: &serde_json::Value| entry["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert_eq!(warnings[0]["path"], file.display().to_string());
    assert_eq!(warnings[0]["line"], 2);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["rcode"], "NOERROR", "{json}");

    let (file, out) = run(&format!("{bad}{bad}{bad}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&file.display().to_string()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn serve_names_the_address_it_cannot_bind() {
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", &taken.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("cannot listen on {taken} (UDP)")),
        "{}",
        stderr(&out)
    );
}

/// A child process killed (if still running) when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Sends SIGTERM and returns the exit status (None if it did not exit within 15 s).
    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..150 {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

/// Lines of a child's stream, read on a thread so the pipe never fills.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (up to 60 s) for a line containing `marker`; returns the lines read so far.
fn wait_for(lines: &mpsc::Receiver<String>, marker: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.contains(marker);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {marker:?}; got:\n{}", seen.join("\n")),
        }
    }
}

/// The address in a line like `... whydns serving on UDP and TCP address=127.0.0.1:4321`.
fn address_in(line: &str) -> SocketAddr {
    line.split(|c: char| c.is_whitespace() || c == '=')
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Starts `whydns [FLAGS] serve` on a free port through the shared lab, logging at info;
/// returns the child and its stderr lines.
fn spawn_serve(flags: &[&str]) -> (Running, mpsc::Receiver<String>) {
    let port = common::lab().running.port.to_string();
    let child = Command::new(BIN)
        .args(flags)
        .args(["serve", "--listen", "127.0.0.1:0", "--root-hints"])
        .arg(hints())
        .arg("--trust-anchor")
        .arg(common::lab_anchor_file())
        .args(["--upstream-port", &port])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let log = lines_of(child.0.stderr.take().unwrap());
    (child, log)
}

#[test]
fn serve_answers_then_exits_0_on_sigterm() {
    let (mut child, log) = spawn_serve(&[]);
    let seen = wait_for(&log, "serving on UDP and TCP");
    let address = address_in(seen.last().unwrap());
    let mut q = common::query_message("valid.lab.", RecordType::A, Ask::default());
    q.metadata.recursion_desired = true;
    let reply = udp_exchange(address, &q, Duration::from_secs(8)).expect("answer");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(child.terminate().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn json_logs_carry_one_line_per_failed_resolution_with_its_diagnosis() {
    let (mut child, log) = spawn_serve(&["--log-format", "json"]);
    let seen = wait_for(&log, "serving on UDP and TCP");
    let started: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    let address: SocketAddr = started["address"].as_str().unwrap().parse().unwrap();
    let mut q = common::query_message("no-zsk.lab.", RecordType::A, Ask::default());
    q.metadata.recursion_desired = true;
    let reply = udp_exchange(address, &q, Duration::from_secs(8)).expect("answer");
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    let line = wait_for(&log, "resolution failed").pop().unwrap();
    let event: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}"));
    assert_eq!(event["level"], "INFO", "{line}");
    assert_eq!(event["question"], "no-zsk.lab. A", "{line}");
    assert_eq!(event["rcode"], "SERVFAIL", "{line}");
    assert_eq!(event["ede"], "9", "{line}");
    assert_eq!(event["cause"], "signing-key-missing", "{line}");
    assert!(
        event["diagnosis"]
            .as_str()
            .unwrap()
            .contains("no-zsk.lab. A"),
        "{line}"
    );
    assert!(!event["remedy"].as_str().unwrap().is_empty(), "{line}");
    assert_eq!(event["trace"].as_str().unwrap().len(), 8, "{line}");
    assert_eq!(child.terminate().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn lab_starts_a_resolver_that_recurses_through_it() {
    let out_dir = std::env::temp_dir().join(format!("whydns-lab-out-{}", std::process::id()));
    let child = Command::new(BIN)
        .args(["lab", "--port", "0", "--resolver-listen", "127.0.0.1:0"])
        .args(["--control", "127.0.0.1:0"])
        .arg("--zones")
        .arg(common::testzones())
        .arg("--out")
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let output = lines_of(child.0.stdout.take().unwrap());
    let seen = wait_for(&output, "Press Ctrl-C");
    let resolver_line = seen
        .iter()
        .find(|l| l.starts_with("Resolver:"))
        .expect("resolver address printed");
    let address = address_in(resolver_line);
    let dig = format!(
        "dig @127.0.0.1 -p {} allow-query-none.lab. A",
        address.port()
    );
    assert!(
        seen.iter().any(|l| l.trim() == dig),
        "no {dig:?} in:\n{}",
        seen.join("\n")
    );
    let mut q = common::query_message("allow-query-none.lab.", RecordType::A, Ask::default());
    q.metadata.recursion_desired = true;
    let reply = udp_exchange(address, &q, Duration::from_secs(8)).expect("answer");
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    // The lab's control API explains that answer: `whydns explain` finds it by name.
    let control = seen
        .iter()
        .find_map(|l| l.strip_prefix("Control API:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("control API address printed")
        .trim_end_matches('/')
        .to_string();
    let explained = Command::new(BIN)
        .args([
            "explain",
            "--name",
            "allow-query-none.lab",
            "--server",
            &control,
        ])
        .output()
        .unwrap();
    assert!(explained.status.success(), "{}", stderr(&explained));
    let text = stdout(&explained);
    assert!(text.contains("cause: lame-delegation"), "{text}");
    assert!(text.contains("REFUSED"), "{text}");
    assert_eq!(child.terminate().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn failure_log_lines_are_limited_per_10_s_and_summarised() {
    let (mut child, log) = spawn_serve(&["--log-format", "json"]);
    let seen = wait_for(&log, "serving on UDP and TCP");
    let started: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    let address: SocketAddr = started["address"].as_str().unwrap().parse().unwrap();
    // 45 distinct failing questions (the zone's servers refuse everything), well within one
    // 10 s window: 20 lines (the default limit), then one summary of the other 25.
    for i in 0..45 {
        let name = format!("n{i}.allow-query-none.lab.");
        let mut q = common::query_message(&name, RecordType::A, Ask::default());
        q.metadata.recursion_desired = true;
        let reply = udp_exchange(address, &q, Duration::from_secs(8)).expect("answer");
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::ServFail,
            "{name}"
        );
    }
    let lines = wait_for(&log, "more like this in the last 10 s");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let failed = events
        .iter()
        .filter(|e| e["message"] == "resolution failed")
        .count();
    assert_eq!(failed, 20, "{}", lines.join("\n"));
    let summary = events.last().unwrap();
    assert_eq!(
        summary["message"],
        "resolution failed: … and 25 more like this in the last 10 s"
    );
    assert_eq!(summary["suppressed"], 25);
    assert_eq!(summary["level"], "INFO");
    assert_eq!(child.terminate().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn explain_says_why_the_control_api_refused_it() {
    // A server whose control API answers another network only.
    let port = common::lab().running.port.to_string();
    let server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--root-hints"])
        .arg(hints())
        .arg("--trust-anchor")
        .arg(common::lab_anchor_file())
        .args(["--upstream-port", &port])
        .args([
            "--control",
            "127.0.0.1:0",
            "--control-allow",
            "192.0.2.0/24",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(server);
    let log = lines_of(server.0.stderr.take().unwrap());
    let line = wait_for(&log, "control API (HTTP)").pop().unwrap();
    let control = address_in(&line);
    let out = Command::new(BIN)
        .args([
            "explain",
            "--list",
            "--server",
            &format!("http://{control}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "forbidden (127.0.0.1 is not in the control API's allow list (control_allow))"
        ),
        "{err}"
    );
    assert_eq!(server.terminate().map(|s| s.code()), Some(Some(0)));
}
