//! `leakscrub run -- CMD`: runs CMD with its stdout and stderr redacted,
//! forwards signals to it, and exits with its exit code.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::redact_cmd::{build_redaction, finish, merge_counts, warn};
use super::{RunArgs, EXIT_ERROR};
use crate::redact::{pump, InputCut, PumpEnd, StreamRedactor};

/// Exit code when the command cannot be found (as shells do).
const EXIT_NOT_FOUND: i32 = 127;
/// Exit code when the command cannot be executed (as shells do).
const EXIT_NOT_EXECUTABLE: i32 = 126;

/// How long the pipes are still read once the command has exited. Its
/// background processes may hold them open for ever (a daemon, `sleep 60 &`);
/// this is the time they get to finish a last line before `run` returns.
const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// Bytes a pipe holds when the platform cannot say.
const FALLBACK_PIPE_CAPACITY: usize = 64 << 10;

type PumpResult = Result<(PumpEnd, BTreeMap<String, u64>)>;

/// What the main thread waits for.
enum Event {
    /// The command exited (it is not reaped yet, so its pid stays ours).
    Exited,
    /// The pump for stream `0` (stdout) or `1` (stderr) ended.
    PumpDone(usize),
}

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
    let result = supervise(&args, &shared, &mut child);
    if result.is_err() {
        // Whatever went wrong, the command must not go on unredacted.
        let _ = child.kill();
    }
    let counts = result?;
    let status = child.wait().context("waiting for the command")?;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => EXIT_ERROR,
    };
    finish(&args.options, &counts, code)
}

/// Pumps the command's output until it has exited and its pipes are done
/// (or given up after [`DRAIN_GRACE`]), forwarding signals meanwhile.
/// Returns the masked counts; the command is left unreaped.
fn supervise(
    args: &RunArgs,
    shared: &Arc<crate::redact::Redaction>,
    child: &mut Child,
) -> Result<BTreeMap<String, u64>> {
    let pid = child.id() as libc::pid_t;
    let (events, event_rx) = mpsc::channel();
    // Dropping `stop_writer` wakes both pipe readers and tells them to stop.
    let (stop_reader, stop_writer) = cloexec_pipe().context("creating a pipe")?;
    let stop_reader = Arc::new(stop_reader);
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

    let exit_events = events.clone();
    std::thread::Builder::new()
        .name("leakscrub-wait".into())
        .spawn(move || {
            // An error here means the exit cannot be observed; the reaping
            // `wait` afterwards reports it.
            let _ = wait_without_reaping(pid);
            let _ = exit_events.send(Event::Exited);
        })
        .context("starting a thread")?;

    let flush = Duration::from_millis(args.options.flush_ms);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the command's stdout is not a pipe"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("the command's stderr is not a pipe"))?;
    let stdout = ChildPipe::new(stdout, Arc::clone(&stop_reader));
    let stderr = ChildPipe::new(stderr, stop_reader);
    let mut pumps = [
        Some(spawn_pump(
            shared,
            stdout,
            "the command's stdout",
            flush,
            false,
            events.clone(),
            0,
        )?),
        Some(spawn_pump(
            shared,
            stderr,
            "the command's stderr",
            flush,
            true,
            events,
            1,
        )?),
    ];

    let mut counts = BTreeMap::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut stop_writer = Some(stop_writer);
    let mut grace_ends: Option<Instant> = None;
    let mut exited = false;
    while !exited || pumps.iter().any(Option::is_some) {
        let event = match (grace_ends, &stop_writer) {
            (Some(end), Some(_)) => {
                match event_rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        stop_writer = None;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            _ => match event_rx.recv() {
                Ok(event) => event,
                Err(_) => break,
            },
        };
        match event {
            Event::Exited => {
                exited = true;
                grace_ends = Some(Instant::now() + DRAIN_GRACE);
            }
            Event::PumpDone(index) => {
                let Some(handle) = pumps.get_mut(index).and_then(Option::take) else {
                    continue;
                };
                let outcome = handle
                    .join()
                    .unwrap_or_else(|_| Err(anyhow!("the redactor stopped unexpectedly")));
                match outcome {
                    Ok((_, c)) => merge_counts(&mut counts, &c),
                    Err(e) => {
                        // Fail closed: that stream is no longer written; stop
                        // the command rather than let it run unredacted.
                        let _ = child.kill();
                        failure.get_or_insert(e);
                    }
                }
            }
        }
    }
    signal_handle.close();
    let _ = forwarder.join();
    match failure {
        Some(e) => Err(e),
        None => Ok(counts),
    }
}

/// A pipe (read end, write end) that no command started later inherits.
fn cloexec_pipe() -> io::Result<(File, File)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe succeeded, so both are open descriptors owned by nobody
    // else; each OwnedFd closes its own.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&reader, &writer] {
        // SAFETY: F_SETFD on a descriptor we own changes only its flags.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((File::from(reader), File::from(writer)))
}

/// Blocks until the process `pid` has exited, leaving it a zombie so that
/// its pid cannot be reused while signals are still forwarded to it.
fn wait_without_reaping(pid: libc::pid_t) -> io::Result<()> {
    loop {
        // SAFETY: waitid writes only into `info`, a plain C struct for
        // which all-zero bytes are a valid value.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One of the command's output pipes, read until end of file or until the
/// stop pipe says the command is gone and its grace period is over.
///
/// After the stop, what is already in the pipe is still read — at most
/// the pipe's capacity, so a background process that keeps writing cannot
/// keep `run` alive — because everything the command itself wrote before
/// it exited is in there. Then the read end reports end of file; if the
/// limit was reached, the line it fell in is dropped and the read ends
/// with [`InputCut`], so the redactor drops what it holds of that line
/// rather than write it.
struct ChildPipe<R> {
    pipe: R,
    stop: Arc<File>,
    /// Bytes still allowed once stopped; `None` while running normally.
    drain_left: Option<usize>,
    ended: Option<DrainEnd>,
}

impl<R: Read + AsRawFd> ChildPipe<R> {
    fn new(pipe: R, stop: Arc<File>) -> ChildPipe<R> {
        ChildPipe {
            pipe,
            stop,
            drain_left: None,
            ended: None,
        }
    }

    fn drain(&mut self, buf: &mut [u8], left: usize) -> io::Result<usize> {
        match self.ended {
            Some(DrainEnd::EndOfFile) => return Ok(0),
            Some(DrainEnd::Cut) => return Err(io::Error::other(InputCut)),
            None => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        // Drained: what the command wrote before it exited has been read.
        if left == 0 || !poll_readable(self.pipe.as_raw_fd(), None, 0)?.0 {
            self.ended = Some(DrainEnd::EndOfFile);
            return Ok(0);
        }
        let room = buf.len().min(left);
        let n = self.pipe.read(&mut buf[..room])?;
        if n == 0 || n < left {
            self.drain_left = Some(left - n);
            return Ok(n);
        }
        // Cut off mid-stream by a writer that never pauses: the line the
        // limit fell in is dropped, and the redactor is told the input was
        // cut, so a line begun in an earlier read and held as the possible
        // start of a secret is dropped too instead of written at the end.
        self.ended = Some(DrainEnd::Cut);
        Ok(buf[..n]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1))
    }
}

/// How a drained pipe ended.
#[derive(Debug, Clone, Copy)]
enum DrainEnd {
    /// Nothing more to read: every writer closed it, or what the command
    /// wrote before exiting has all been read.
    EndOfFile,
    /// A background writer kept filling it past the limit.
    Cut,
}

impl<R: Read + AsRawFd> Read for ChildPipe<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.drain_left {
            return self.drain(buf, left);
        }
        let (_, stopped) = poll_readable(self.pipe.as_raw_fd(), Some(self.stop.as_raw_fd()), -1)?;
        if stopped {
            // Checked first: a background process writing without pause
            // would otherwise keep the pipe ready for ever.
            let left = pipe_capacity(self.pipe.as_raw_fd());
            return self.drain(buf, left);
        }
        // Waiting for ever, poll returned for the pipe: data, end of file
        // or an error, which the read tells apart.
        self.pipe.read(buf)
    }
}

/// Waits up to `timeout_ms` (-1: for ever) until `data` or `stop` has
/// something to read (or is closed); returns which of the two are ready.
/// With no `stop`, a timeout returns `(false, false)`.
fn poll_readable(data: RawFd, stop: Option<RawFd>, timeout_ms: i32) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: data,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let count: libc::nfds_t = if stop.is_some() { 2 } else { 1 };
    loop {
        // SAFETY: `fds` is a live array of at least `count` pollfd structs.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), count, timeout_ms) };
        if rc >= 0 {
            return Ok((fds[0].revents != 0, fds[1].revents != 0));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// How many bytes the pipe `fd` can hold.
#[cfg(target_os = "linux")]
fn pipe_capacity(fd: RawFd) -> usize {
    // SAFETY: F_GETPIPE_SZ only reads the pipe's size.
    let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    usize::try_from(size)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(FALLBACK_PIPE_CAPACITY)
}

#[cfg(not(target_os = "linux"))]
fn pipe_capacity(_fd: RawFd) -> usize {
    FALLBACK_PIPE_CAPACITY
}

/// Tells the main thread that a pump ended, also when it panicked.
struct PumpDoneNotice {
    events: Sender<Event>,
    index: usize,
}

impl Drop for PumpDoneNotice {
    fn drop(&mut self) {
        let _ = self.events.send(Event::PumpDone(self.index));
    }
}

fn spawn_pump<R: Read + Send + 'static>(
    shared: &Arc<crate::redact::Redaction>,
    input: R,
    name: &'static str,
    flush: Duration,
    to_stderr: bool,
    events: Sender<Event>,
    index: usize,
) -> Result<JoinHandle<PumpResult>> {
    let mut redactor = StreamRedactor::new(Arc::clone(shared));
    std::thread::Builder::new()
        .name("leakscrub-pump".into())
        .spawn(move || {
            let _notice = PumpDoneNotice { events, index };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ChildPipe` over a fresh pipe, its write end, and the stop pipe's
    /// write end (drop it to stop).
    fn child_pipe() -> (ChildPipe<File>, File, File) {
        let (data_reader, data_writer) = cloexec_pipe().unwrap();
        let (stop_reader, stop_writer) = cloexec_pipe().unwrap();
        (
            ChildPipe::new(data_reader, Arc::new(stop_reader)),
            data_writer,
            stop_writer,
        )
    }

    /// Reads `pipe` to its end on another thread; `None` if that takes
    /// more than a few seconds (the reader would hang).
    fn read_all_within(mut pipe: ChildPipe<File>) -> Option<Vec<u8>> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            // A cut pipe ends with `InputCut` instead of end of file.
            let result = match pipe.read_to_end(&mut got) {
                Err(e) if e.get_ref().is_some_and(|i| i.is::<InputCut>()) => Ok(got),
                other => other.map(|_| got),
            };
            let _ = tx.send(result);
        });
        rx.recv_timeout(Duration::from_secs(10))
            .ok()
            .map(|r| r.unwrap())
    }

    #[test]
    fn reads_until_the_writer_closes_while_not_stopped() {
        let (pipe, mut writer, _stop) = child_pipe();
        writer
            .write_all(b"compiling app v1.2.0\nfinished\n")
            .unwrap();
        drop(writer);
        assert_eq!(
            read_all_within(pipe).unwrap(),
            b"compiling app v1.2.0\nfinished\n"
        );
    }

    #[test]
    fn stop_ends_a_pipe_a_background_process_keeps_open() {
        let (pipe, mut writer, stop) = child_pipe();
        writer.write_all(b"last line of the command\n").unwrap();
        drop(stop);
        // `writer` stays open, as a grandchild's copy would.
        assert_eq!(
            read_all_within(pipe).expect("the read did not end after the stop"),
            b"last line of the command\n"
        );
        drop(writer);
    }

    #[test]
    fn stop_bounds_what_a_writer_that_never_pauses_adds() {
        let (pipe, mut writer, stop) = child_pipe();
        let capacity = pipe_capacity(pipe.pipe.as_raw_fd());
        let spammer = std::thread::spawn(move || {
            let line = b"background worker heartbeat\n";
            // Ends when the read end is closed (EPIPE).
            while writer.write_all(line).is_ok() {}
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(stop);
        let got = read_all_within(pipe).expect("the read did not end after the stop");
        assert!(
            got.len() <= capacity,
            "{} bytes read after the stop",
            got.len()
        );
        // The line the limit fell in is dropped, not shown in part.
        let text = String::from_utf8(got).unwrap();
        assert!(text.ends_with('\n') || text.is_empty());
        assert!(text.lines().all(|l| l == "background worker heartbeat"));
        spammer.join().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pipe_capacity_is_what_a_pipe_holds() {
        let (reader, mut writer) = cloexec_pipe().unwrap();
        let capacity = pipe_capacity(reader.as_raw_fd());
        // SAFETY: setting O_NONBLOCK on a pipe this test owns.
        unsafe {
            let flags = libc::fcntl(writer.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        let chunk = vec![b'x'; 4096];
        let mut held = 0;
        while let Ok(n) = writer.write(&chunk) {
            held += n;
        }
        assert_eq!(held, capacity);
    }

    /// Yields its pieces, then fails with `InputCut`.
    struct CutAfter(std::collections::VecDeque<Vec<u8>>);

    impl Read for CutAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                Some(piece) => {
                    buf[..piece.len()].copy_from_slice(&piece);
                    Ok(piece.len())
                }
                None => Err(io::Error::other(InputCut)),
            }
        }
    }

    #[test]
    fn a_cut_input_never_writes_the_held_start_of_a_secret() {
        let value = b"Zq8xW2vB7nM4kL9pR3tY6uJ1".to_vec();
        let shared = Arc::new(
            crate::redact::Redaction::new(
                &crate::rules::RuleSet::default(),
                &[crate::redact::values::KnownValue {
                    name: "DEPLOY_KEY".into(),
                    value: value.clone(),
                }],
                crate::redact::stream::RedactConfig::default(),
            )
            .unwrap(),
        );
        // The value's first half ends one read; the cut comes before the
        // rest, as when a background writer is abandoned mid-line.
        let mut pieces = std::collections::VecDeque::new();
        pieces.push_back(b"worker ready\nsigning with ".to_vec());
        pieces.push_back(value[..12].to_vec());
        let mut redactor = StreamRedactor::new(Arc::clone(&shared));
        let mut out = Vec::new();
        let end = pump(
            CutAfter(pieces),
            "test",
            &mut out,
            &mut redactor,
            Duration::from_secs(60),
            &mut |_| {},
        )
        .unwrap();
        assert!(matches!(end, PumpEnd::Cut));
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("worker ready\n"), "{text}");
        assert!(
            !text.contains(std::str::from_utf8(&value[..6]).unwrap()),
            "{text}"
        );
    }
}
