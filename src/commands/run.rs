//! `ops run`: turn the flags into run options and a reporter, then run.

use std::io::IsTerminal as _;

use super::Error;
use crate::cli::{Format, RunArgs};
use crate::exit::ExitStatus;
use crate::report::{Human, HumanOptions, Json, OutputMode, Reporter};
use crate::run::saved_plan::SavedPlan;
use crate::run::{self, Mode, Options, Selection};
use crate::task::TaskSet;

pub(super) fn run(set: &TaskSet, args: &RunArgs) -> Result<ExitStatus, Error> {
    let saved = args.plan.as_deref().map(SavedPlan::read).transpose()?;
    let named: Vec<String> = match &saved {
        Some(plan) if args.tasks.is_empty() => plan.targets.clone(),
        _ => args.tasks.clone(),
    };
    let roots = run::roots(set, &named)?;
    // Aliases are for typing: the run is of the tasks they name.
    let targets: Vec<String> = roots.iter().map(|&id| set.get(id).name.clone()).collect();
    let Selection { order, excluded } =
        run::choose(set, &roots, &args.skip, args.no_deps).map_err(run::SelectError::from)?;
    let (order, excluded, resume) = if let (Some(plan), Some(path)) = (&saved, args.plan.as_deref()) {
        // The whole plan must be fresh, whatever part of it runs here.
        let resume = plan.check(path, set, &targets, &order)?;
        let (order, excluded, resume) = if args.only.is_empty() {
            (order, excluded, resume)
        } else {
            plan.check_part(path, &args.only)?;
            let part = run::roots(set, &args.only)?;
            let values = plan.values();
            let given = |task: &str, key: &str| values.get(task).is_some_and(|v| v.contains_key(key));
            let Selection { order, excluded } =
                run::only(set, &part, given).map_err(run::SelectError::from)?;
            (order, excluded, resume.with_given(plan.values()))
        };
        set.check_runnable(runnable(set, &order, &excluded))?;
        plan.mark_applied(set.root(), path, &args.only)?;
        (order, excluded, Some(resume))
    } else {
        // A task that cannot run fails the run only when it might run.
        set.check_runnable(runnable(set, &order, &excluded))?;
        (order, excluded, None)
    };
    let opts = Options {
        mode: if args.dry_run {
            Mode::DryRun
        } else if args.diff {
            Mode::Diff
        } else {
            Mode::Apply
        },
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(2, usize::from),
            usize::from,
        ),
        keep_going: args.keep_going,
        yes: args.yes,
        force: args.force,
        detailed_exitcode: args.detailed_exitcode,
        interactive: std::io::stdin().is_terminal(),
        wait_lock: args.wait_lock,
        resume,
        save_plan: args.save_plan.clone(),
        excluded,
    };
    let mut reporter: Box<dyn Reporter> = match args.format {
        Format::Json => Box::new(Json::new()),
        Format::Human => {
            let ci_actions = env_set("CI") && (env_set("GITHUB_ACTIONS") || env_set("FORGEJO_ACTIONS"));
            let mode = args.output_mode.unwrap_or(if ci_actions || args.quiet {
                OutputMode::Grouped
            } else {
                OutputMode::Prefixed
            });
            let name_width = run::may_run(set, &order, |id| opts.excluded.contains(id))
                .iter()
                .map(|&id| set.get(id).name.chars().count())
                .max()
                .unwrap_or(0)
                .min(32);
            Box::new(Human::new(HumanOptions {
                mode,
                // No spinners in CI, even where a runner gives a terminal (act does).
                progress: std::io::stdout().is_terminal()
                    && std::io::stderr().is_terminal()
                    && !env_set("CI")
                    && !args.quiet,
                ci_groups: ci_actions && !args.quiet,
                name_width,
                quiet: args.quiet,
                verbose: args.verbose,
            }))
        }
    };
    let mut opts = opts;
    if args.resume {
        let (resume, again) = run::Resume::find(set.root(), set, &targets, args.kill_orphans)?;
        if !again.changed.is_empty() {
            reporter.handle(&crate::report::Event::Warning(format!(
                "changed since {}, so they run again: {}",
                resume.origin,
                again.changed.join(", ")
            )));
        }
        if !again.secret.is_empty() {
            reporter.handle(&crate::report::Event::Warning(format!(
                "their values held a secret, which {} does not keep, so they run again: {}",
                resume.origin,
                again.secret.join(", ")
            )));
        }
        opts.resume = Some(resume);
    }
    Ok(run::run(set, &order, &targets, &opts, reporter.as_mut())?)
}

/// The tasks of `order` that might run (handlers included), not those left out.
fn runnable<'a>(
    set: &'a TaskSet,
    order: &[crate::task::TaskId],
    excluded: &'a run::Excluded,
) -> impl Iterator<Item = crate::task::TaskId> + 'a {
    run::may_run(set, order, |id| excluded.contains(id))
        .into_iter()
        .filter(|id| !excluded.contains(*id))
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "false")
}
