//! `ops man`: the manual page, generated from the command line's own definition, so
//! it never disagrees with `--help`. The Nix package installs it as `ops.1`.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::cli::Cli;

/// The page in roff: the whole tool, then a section per command with its options.
pub(super) fn page() -> Vec<u8> {
    let command = Cli::command();
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = clap_mangen::Man::new(command.clone()).render(&mut out);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let _ = writeln!(out, ".SH \"OPS {}\"", sub.get_name().to_uppercase());
        let man = clap_mangen::Man::new(sub.clone());
        let _ = man.render_description_section(&mut out);
        let _ = man.render_options_section(&mut out);
        if let Some(after) = sub.get_after_help() {
            let _ = writeln!(out, ".PP\n.nf\n{}\n.fi", after.to_string().replace('\\', "\\\\"));
        }
    }
    out
}
