//! Output for people: progress bars on a terminal, prefixed (or grouped) lines
//! elsewhere, `::group::` blocks in Forgejo/GitHub Actions, a summary table at the end.
//! While a task has the terminal (an interactive command), a header line names it
//! and nothing else is drawn until it finishes: the progress display is hidden.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Name, Reporter, TaskResult, plan, summary};

/// How task output is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputMode {
    /// Every line as it comes, prefixed with the task name.
    Prefixed,
    /// A task's output in one block when it ends (like `make --output-sync`).
    Grouped,
}

#[derive(Clone, Debug)]
pub(crate) struct HumanOptions {
    pub mode: OutputMode,
    /// Progress bars for running tasks (a terminal).
    pub progress: bool,
    /// Wrap each task's block in `::group::` (Forgejo/GitHub Actions).
    pub ci_groups: bool,
    /// Width of the task-name column.
    pub name_width: usize,
    /// `-q`: only what failed, then the summary's last line.
    pub quiet: bool,
    /// `-v`: each task's whole command when it starts, not its first line.
    pub verbose: bool,
}

pub(crate) struct Human {
    opts: HumanOptions,
    bars: Option<MultiProgress>,
    running: HashMap<Name, ProgressBar>,
    buffers: HashMap<Name, Vec<String>>,
    /// The task that has the terminal, if one has.
    terminal: Option<Name>,
    /// The lines of tasks (start, output, end), kept to go out together with the
    /// next text written, or once due ([`Reporter::flush_due`]): one write for the
    /// lines of many short tasks rather than two writes a task.
    later: String,
    later_since: Option<std::time::Instant>,
}

/// How long a task's line may wait for a text to go out with.
const LATER_WITHIN: Duration = Duration::from_millis(10);
/// How much may wait.
const LATER_LIMIT: usize = 64 * 1024;

impl Human {
    pub(crate) fn new(opts: HumanOptions) -> Self {
        let bars = opts
            .progress
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Self {
            opts,
            bars,
            running: HashMap::new(),
            buffers: HashMap::new(),
            terminal: None,
            later: String::new(),
            later_since: None,
        }
    }

    fn print(&mut self, text: &str) {
        let write = |text: &str| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        };
        if text.is_empty() && self.later.is_empty() {
            return;
        }
        match &self.bars {
            Some(bars) => bars.suspend(|| write(text)),
            None if self.later.is_empty() => write(text),
            None => {
                // What was kept goes first, in the same write.
                self.later.push_str(text);
                write(&self.later);
                self.later.clear();
                self.later_since = None;
            }
        }
    }

    /// [`Human::print`], or, without progress bars, kept for the next write (written
    /// at once past [`LATER_LIMIT`]).
    fn print_later(&mut self, text: &str) {
        if self.bars.is_some() || self.later.len() + text.len() > LATER_LIMIT {
            self.print(text);
        } else {
            self.later.push_str(text);
            self.later_since.get_or_insert_with(std::time::Instant::now);
        }
    }

    fn print_stderr(&mut self, text: &str) {
        self.print("");
        match &self.bars {
            Some(bars) => bars.suspend(|| eprint!("{text}")),
            None => eprint!("{text}"),
        }
    }

    fn prefixed(&self, task: &str, line: &str) -> String {
        let dim = Style::new().dim();
        // One text, the name padded as it is written (a styled value passes the
        // width on to what it styles): two lines a task, a thousand tasks a run.
        let mut text = String::with_capacity(self.opts.name_width + line.len() + 16);
        let _ = writeln!(
            text,
            "{:<w$} {} {line}",
            dim.apply_to(task),
            dim.apply_to("│"),
            w = self.opts.name_width
        );
        text
    }

    fn started(&mut self, task: &Name, attempt: u32, command: Option<&str>, terminal: bool) {
        let command = if self.opts.verbose {
            command.map(|c| c.trim().to_owned())
        } else {
            command.map(first_line)
        };
        let note = match (attempt, command.as_deref()) {
            (1, Some(c)) => format!("▶ {c}"),
            (1, None) => "▶ started".to_owned(),
            (n, _) => format!("▶ attempt {n}"),
        };
        if terminal {
            // Its output goes to the terminal as it is: a header line, then nothing
            // drawn over it (the progress display is hidden until it finishes).
            let header = self.prefixed(task, &format!("{note}  (interactive: it has the terminal)"));
            self.print(&header);
            if let Some(bars) = &self.bars {
                bars.set_draw_target(ProgressDrawTarget::hidden());
            }
            self.terminal = Some(task.clone());
            return;
        }
        if let Some(bars) = &self.bars {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:.dim} {wide_msg:.dim}")
                    .expect("template is valid"),
            );
            bar.set_prefix(task.to_string());
            bar.set_message(command.unwrap_or_default());
            bar.enable_steady_tick(Duration::from_millis(100));
            self.running.insert(task.clone(), bar);
        } else if self.opts.mode == OutputMode::Prefixed {
            // A whole command (`-v`) keeps its lines under the first one.
            let lines: String = note
                .lines()
                .enumerate()
                .map(|(i, l)| self.prefixed(task, &if i == 0 { l.to_owned() } else { format!("    {l}") }))
                .collect();
            self.print_later(&lines);
        }
        if self.opts.mode == OutputMode::Grouped {
            self.buffers.entry(task.clone()).or_default();
        }
    }

    fn output(&mut self, task: &Name, line: &str) {
        match self.opts.mode {
            OutputMode::Prefixed => self.print_later(&self.prefixed(task, line)),
            OutputMode::Grouped => self
                .buffers
                .entry(task.clone())
                .or_default()
                .push(line.to_owned()),
        }
    }

    fn finished(&mut self, result: &TaskResult) {
        if let Some(bar) = self.running.remove(&result.task) {
            bar.finish_and_clear();
        }
        if self.terminal.as_ref() == Some(&result.task) {
            self.terminal = None;
            if let Some(bars) = &self.bars {
                bars.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            }
        }
        let status = summary::status_line(result);
        if self.opts.quiet {
            // Only a failure is shown, with its output.
            let lines = self.buffers.remove(&result.task).unwrap_or_default();
            if result.status == super::Status::Failed {
                let block: String = lines
                    .iter()
                    .chain(std::iter::once(&status))
                    .map(|l| self.prefixed(&result.task, l))
                    .collect();
                self.print(&block);
            }
            return;
        }
        match self.opts.mode {
            OutputMode::Prefixed => self.print_later(&self.prefixed(&result.task, &status)),
            OutputMode::Grouped => {
                let lines = self.buffers.remove(&result.task).unwrap_or_default();
                let mut block = String::new();
                let title = format!("{} {}", result.task, status);
                if self.opts.ci_groups {
                    let _ = writeln!(block, "::group::{title}");
                } else {
                    let _ = writeln!(block, "{}", Style::new().bold().apply_to(format!("── {title}")));
                }
                for line in lines {
                    block.push_str(&line);
                    block.push('\n');
                }
                if self.opts.ci_groups {
                    block.push_str("::endgroup::\n");
                }
                self.print_later(&block);
            }
        }
    }
}

impl Drop for Human {
    fn drop(&mut self) {
        self.print("");
    }
}

impl Reporter for Human {
    fn handle(&mut self, event: &Event) {
        match event {
            Event::RunStarted { .. } | Event::ProcessStarted { .. } => {}
            Event::Plan(p) => self.print(&plan::render(p)),
            Event::TaskStarted {
                task,
                attempt,
                command,
                terminal,
            } => self.started(task, *attempt, command.as_deref(), *terminal),
            Event::Output { task, line, .. } => self.output(task, line),
            Event::Retrying {
                task,
                attempt,
                delay,
                reason,
            } => {
                let line = format!(
                    "↻ {reason}; attempt {} in {}",
                    attempt + 1,
                    super::short_duration(*delay)
                );
                self.print(&self.prefixed(task, &line));
            }
            Event::Confirmed {
                task,
                question,
                by_flag,
            } => {
                if *by_flag {
                    self.print(&self.prefixed(task, &format!("confirmed by --yes: {question}")));
                }
            }
            Event::TaskFinished(result) => self.finished(result),
            Event::Handlers { trigger, handlers } => {
                let names: Vec<&str> = handlers.iter().map(|h| &**h).collect();
                let line = format!("── {} → {}", trigger.describe(), names.join(", "));
                self.print(&format!("{}\n", Style::new().bold().apply_to(line)));
            }
            Event::Warning(message) => {
                let label = console::Style::new().yellow().apply_to("warning:");
                self.print_stderr(&format!("{label} {message}\n"));
            }
            Event::Missing(findings) => {
                let lines: String = findings.iter().map(|f| f.line() + "\n").collect();
                self.print_stderr(&lines);
            }
            Event::Note(message) => {
                let label = console::Style::new().bold().apply_to("note:");
                self.print_stderr(&format!("{label} {message}\n"));
            }
            Event::RunFinished(s) => {
                if let Some(bars) = &self.bars {
                    let _ = bars.clear();
                }
                let summary = summary::render(s);
                if self.opts.quiet {
                    let last = summary
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or_default();
                    self.print(&format!("{last}\n"));
                } else {
                    self.print(&summary);
                }
            }
        }
    }

    fn flush(&mut self) {
        self.print("");
    }

    fn flush_due(&self) -> Option<std::time::Instant> {
        self.later_since.map(|since| since + LATER_WITHIN)
    }

    fn prompt(&mut self, task: &str, question: &str) {
        self.print("");
        if let Some(bars) = &self.bars {
            bars.set_draw_target(ProgressDrawTarget::hidden());
        }
        let text = format!(
            "{} {question} [y/N] ",
            Style::new().bold().apply_to(format!("{task}:"))
        );
        eprint!("{text}");
    }

    fn prompt_done(&mut self) {
        if let Some(bars) = &self.bars
            && self.terminal.is_none()
        {
            bars.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        }
    }
}

/// The first line of a (possibly multi-line) command, marked when cut.
fn first_line(command: &str) -> String {
    let trimmed = command.trim();
    match trimmed.split_once('\n') {
        Some((first, _)) => format!("{} …", first.trim_end()),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Human, HumanOptions, OutputMode};

    fn human(name_width: usize) -> Human {
        Human::new(HumanOptions {
            mode: OutputMode::Prefixed,
            progress: false,
            ci_groups: false,
            name_width,
            quiet: false,
            verbose: false,
        })
    }

    /// The name is padded to the column by characters, whether or not it is styled.
    #[test]
    fn a_prefixed_line_pads_the_name_to_its_column() {
        console::set_colors_enabled(false);
        assert_eq!(human(6).prefixed("ab", "▶ make"), "ab     │ ▶ make\n");
        assert_eq!(human(3).prefixed("été", "x"), "été │ x\n");
        assert_eq!(human(2).prefixed("longer", "x"), "longer │ x\n");
        let styled = console::Style::new().dim().force_styling(true);
        assert_eq!(
            format!("{:<4}|", styled.apply_to("ab")),
            format!("{}|", styled.apply_to("ab  ")),
            "a styled value passes the width on to what it styles"
        );
    }
}
