//! `stampseq install-desktop`: a Linux desktop entry and icon, so that the app opens from
//! the desktop's menu like any other program (freedesktop.org Desktop Entry and Icon Theme
//! specifications), for the user alone: nothing outside the user's data folder is written.

use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InstallDesktopArgs {
    /// The data folder to install into (default: $XDG_DATA_HOME, else ~/.local/share).
    #[arg(long, value_name = "DIR")]
    pub data_home: Option<PathBuf>,
    /// Print the desktop entry instead of writing anything.
    #[arg(long)]
    pub print: bool,
}

/// The desktop entry for `exe`: the app opens alert files and folders given to it.
pub fn desktop_entry(exe: &Path) -> String {
    // The Exec key quotes its argument when the path holds a space (the spec's rule).
    let exe = exe.display().to_string();
    let exec = if exe.contains(' ') {
        format!("\"{}\"", exe.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        exe
    };
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=stampseq\n\
         GenericName=Alert stamp classifier\n\
         Comment=Vet ZTF and Rubin/LSST alerts: stamps, light curves and classes per detection\n\
         Exec={exec} gui %F\n\
         Icon=stampseq\n\
         Terminal=false\n\
         Categories=Science;Astronomy;Education;\n\
         Keywords=astronomy;alerts;ZTF;LSST;transients;classifier;\n\
         StartupWMClass=stampseq\n"
    )
}

fn data_home(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = given {
        return Ok(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share"))
        .context("neither $XDG_DATA_HOME nor $HOME is set: give --data-home")
}

pub fn run(args: InstallDesktopArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("finding this executable's path")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let entry = desktop_entry(&exe);
    if args.print {
        print!("{entry}");
        return Ok(ExitCode::SUCCESS);
    }
    let home = data_home(args.data_home)?;
    let desktop = home.join("applications/stampseq.desktop");
    let icon = home.join("icons/hicolor/256x256/apps/stampseq.png");
    crate::atomic::write_atomic(&icon, crate::assets::ICON_PNG)
        .with_context(|| format!("writing {}", icon.display()))?;
    crate::atomic::write_atomic(&desktop, entry.as_bytes())
        .with_context(|| format!("writing {}", desktop.display()))?;
    println!("installed {}", desktop.display());
    println!("installed {}", icon.display());
    println!(
        "the app now opens from the desktop's menu as \"stampseq\" ({})",
        exe.display()
    );
    Ok(ExitCode::SUCCESS)
}
