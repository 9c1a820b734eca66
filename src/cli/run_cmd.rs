//! `leakscrub run -- CMD`: runs CMD with its stdout and stderr redacted,
//! forwards signals to it, and exits with its exit code.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::redact_cmd::{build_redaction, finish, merge_counts, warn};
use super::{RunArgs, EXIT_ERROR};
use crate::redact::{pump, PumpEnd, StreamRedactor};

/// Exit code when the command cannot be found (as shells do).
const EXIT_NOT_FOUND: i32 = 127;
/// Exit code when the command cannot be executed (as shells do).
const EXIT_NOT_EXECUTABLE: i32 = 126;

type PumpResult = Result<(PumpEnd, BTreeMap<String, u64>)>;

pub fn run(args: RunArgs) -> Result<i32> {
    let shared = Arc::new(build_redaction(&args.options)?);
    let Some((program, rest)) = args.command.split_first() else {
        bail!("no command given after --");
    };
    // The command line may hold secrets: messages name neither it nor its
    // arguments.
    let mut child = match Command::new(program)
        .args(rest)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                io::ErrorKind::NotFound => EXIT_NOT_FOUND,
                io::ErrorKind::PermissionDenied => EXIT_NOT_EXECUTABLE,
                _ => EXIT_ERROR,
            };
            eprintln!("leakscrub: cannot start the command: {}", io_reason(&e));
            return Ok(code);
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing signal handlers")?;
    let signal_handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            // SAFETY: kill has no memory effects; the pid is our child's,
            // which is not reaped while this thread runs.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    });

    let flush = Duration::from_millis(args.options.flush_ms);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the command's stdout is not a pipe"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("the command's stderr is not a pipe"))?;
    let out_thread = spawn_pump(&shared, stdout, "the command's stdout", flush, false)?;
    let err_thread = spawn_pump(&shared, stderr, "the command's stderr", flush, true)?;

    let mut counts = BTreeMap::new();
    let mut failure: Option<anyhow::Error> = None;
    for t in [out_thread, err_thread] {
        match t.join() {
            Ok(Ok((_, c))) => merge_counts(&mut counts, &c),
            Ok(Err(e)) => {
                // Fail closed: that stream is no longer written; stop the
                // command rather than let it run unredacted.
                let _ = child.kill();
                failure.get_or_insert(e);
            }
            Err(_) => {
                let _ = child.kill();
                failure.get_or_insert(anyhow!("the redactor stopped unexpectedly"));
            }
        }
    }
    let status = child.wait().context("waiting for the command")?;
    signal_handle.close();
    let _ = forwarder.join();
    if let Some(e) = failure {
        return Err(e);
    }
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => EXIT_ERROR,
    };
    finish(&args.options, &counts, code)
}

fn spawn_pump<R: io::Read + Send + 'static>(
    shared: &Arc<crate::redact::Redaction>,
    input: R,
    name: &'static str,
    flush: Duration,
    to_stderr: bool,
) -> Result<JoinHandle<PumpResult>> {
    let mut redactor = StreamRedactor::new(Arc::clone(shared));
    std::thread::Builder::new()
        .name("leakscrub-pump".into())
        .spawn(move || {
            let mut output: Box<dyn Write> = if to_stderr {
                Box::new(io::stderr())
            } else {
                Box::new(io::stdout())
            };
            let end = pump(input, name, &mut *output, &mut redactor, flush, &mut |w| {
                warn(&w)
            })?;
            Ok((end, redactor.counts().clone()))
        })
        .context("starting an output thread")
}

/// The OS reason of an error, without the path or command it concerned.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "command not found".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e
            .raw_os_error()
            .map(|n| io::Error::from_raw_os_error(n).to_string())
            .unwrap_or_else(|| "unknown error".into()),
    }
}
