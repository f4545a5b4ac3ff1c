//! `ops doctor [TASK…]`: what this machine lacks for the tasks (all of them, or the
//! selected ones, what they depend on and the handlers that may run after them),
//! for an apply, with the way out of each.

use std::io::Write as _;

use super::Error;
use crate::cli::{DoctorArgs, Format};
use crate::exit::ExitStatus;
use crate::report::{Mode, missing};
use crate::run::{doctor, may_run, select};
use crate::task::TaskSet;

pub(super) fn run(set: &TaskSet, args: &DoctorArgs) -> Result<ExitStatus, Error> {
    let order = if args.tasks.is_empty() {
        let every: Vec<String> = set.names().map(str::to_owned).collect();
        let order = select(set, &every)?;
        let broken = order.iter().filter(|&&id| set.broken(id).is_some()).count();
        if broken > 0 {
            eprintln!("{}; the others are checked", super::cannot_run_note(broken));
        }
        order.into_iter().filter(|&id| set.broken(id).is_none()).collect()
    } else {
        let order = may_run(set, &select(set, &args.tasks)?, |_| false);
        set.check_runnable(order.iter().copied())?;
        order
    };
    let findings = doctor::check(set, &order, Mode::Apply, &|_| true);
    let text = match args.format {
        Format::Human if args.quiet => {
            let blocking: Vec<_> = findings
                .iter()
                .filter(|f| f.blocks())
                .map(|f| format!("{}\n", f.line()))
                .collect();
            blocking.concat()
        }
        Format::Human => missing::render(&findings, order.len()),
        Format::Json => format!("{}\n", missing::json(&findings, order.len())),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if missing::blocked(&findings).is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
