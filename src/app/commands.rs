//! Every user action is a [`Command`] with its default keyboard shortcut, so that the help
//! overlay and the command palette are generated from one list, never kept by hand. The
//! user's own bindings are a [`Keymap`] kept in the preferences.

use egui::{Key, KeyboardShortcut, Modifiers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    LabelAgn,
    LabelSn,
    LabelVs,
    LabelAsteroid,
    LabelBogus,
    LabelUnsure,
    AcceptModelClass,
    ClearLabel,
    Undo,
    NextObject,
    PreviousObject,
    NextDetection,
    PreviousDetection,
    ToggleBlink,
    ResetZoom,
    OpenFiles,
    OpenFolder,
    LoadModel,
    ExportLabels,
    ExportStamps,
    ToggleTraining,
    ToggleEvaluation,
    ToggleHelp,
    CommandPalette,
    FocusSearch,
    ToggleOnlyUnvetted,
    CycleStretch,
    CycleColormap,
    ExportLightCurve,
    ExportClassEvolution,
    ExportTrainingCurves,
    ExportTrainingConfusion,
    ExportEvaluationConfusion,
    LoadAllWise,
    FineTune,
    SwitchModel,
    ImportLabels,
    ConnectStream,
    DisconnectStream,
}

impl Command {
    pub const ALL: [Command; 39] = [
        Command::LabelAgn,
        Command::LabelSn,
        Command::LabelVs,
        Command::LabelAsteroid,
        Command::LabelBogus,
        Command::LabelUnsure,
        Command::AcceptModelClass,
        Command::ClearLabel,
        Command::Undo,
        Command::NextObject,
        Command::PreviousObject,
        Command::NextDetection,
        Command::PreviousDetection,
        Command::ToggleBlink,
        Command::ResetZoom,
        Command::OpenFiles,
        Command::OpenFolder,
        Command::LoadModel,
        Command::ExportLabels,
        Command::ExportStamps,
        Command::ToggleTraining,
        Command::ToggleEvaluation,
        Command::ToggleHelp,
        Command::CommandPalette,
        Command::FocusSearch,
        Command::ToggleOnlyUnvetted,
        Command::CycleStretch,
        Command::CycleColormap,
        Command::ExportLightCurve,
        Command::ExportClassEvolution,
        Command::ExportTrainingCurves,
        Command::ExportTrainingConfusion,
        Command::ExportEvaluationConfusion,
        Command::LoadAllWise,
        Command::FineTune,
        Command::SwitchModel,
        Command::ImportLabels,
        Command::ConnectStream,
        Command::DisconnectStream,
    ];

    /// The shortcut a fresh installation has; [`Keymap::shortcut`] is the one in effect.
    pub fn default_shortcut(self) -> Option<KeyboardShortcut> {
        let plain = |k| Some(KeyboardShortcut::new(Modifiers::NONE, k));
        let cmd = |k| Some(KeyboardShortcut::new(Modifiers::COMMAND, k));
        match self {
            Command::LabelAgn => plain(Key::Num1),
            Command::LabelSn => plain(Key::Num2),
            Command::LabelVs => plain(Key::Num3),
            Command::LabelAsteroid => plain(Key::Num4),
            Command::LabelBogus => plain(Key::Num5),
            Command::LabelUnsure => plain(Key::Num0),
            Command::AcceptModelClass => plain(Key::Enter),
            Command::ClearLabel => plain(Key::Backspace),
            Command::Undo => cmd(Key::Z),
            Command::NextObject => plain(Key::ArrowDown),
            Command::PreviousObject => plain(Key::ArrowUp),
            Command::NextDetection => plain(Key::ArrowRight),
            Command::PreviousDetection => plain(Key::ArrowLeft),
            Command::ToggleBlink => plain(Key::B),
            Command::ResetZoom => plain(Key::R),
            Command::OpenFiles => cmd(Key::O),
            Command::OpenFolder => Some(KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::O,
            )),
            Command::LoadModel => cmd(Key::M),
            Command::ExportLabels => cmd(Key::E),
            Command::ExportStamps => cmd(Key::S),
            Command::ToggleTraining => cmd(Key::T),
            Command::ToggleEvaluation => cmd(Key::L),
            Command::ToggleHelp => plain(Key::F1),
            Command::CommandPalette => cmd(Key::P),
            Command::FocusSearch => cmd(Key::F),
            Command::ToggleOnlyUnvetted => plain(Key::U),
            Command::CycleStretch => plain(Key::S),
            Command::CycleColormap => plain(Key::C),
            Command::ExportLightCurve
            | Command::ExportClassEvolution
            | Command::ExportTrainingCurves
            | Command::ExportTrainingConfusion
            | Command::ExportEvaluationConfusion => None,
            Command::LoadAllWise
            | Command::FineTune
            | Command::SwitchModel
            | Command::ImportLabels
            | Command::ConnectStream
            | Command::DisconnectStream => None,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Command::LabelAgn => "Label AGN",
            Command::LabelSn => "Label supernova",
            Command::LabelVs => "Label variable star",
            Command::LabelAsteroid => "Label asteroid",
            Command::LabelBogus => "Label bogus",
            Command::LabelUnsure => "Label unsure",
            Command::AcceptModelClass => "Accept the model's top class",
            Command::ClearLabel => "Clear the label",
            Command::Undo => "Undo the last label",
            Command::NextObject => "Next object",
            Command::PreviousObject => "Previous object",
            Command::NextDetection => "Next detection",
            Command::PreviousDetection => "Previous detection",
            Command::ToggleBlink => "Blink science against reference",
            Command::ResetZoom => "Reset zoom and pan",
            Command::OpenFiles => "Open alert files...",
            Command::OpenFolder => "Open a folder...",
            Command::LoadModel => "Load a model file and classify...",
            Command::ExportLabels => "Export labels with probabilities...",
            Command::ExportStamps => "Export the selected detection's stamps (PNG and FITS)...",
            Command::ToggleTraining => "Training: configure, start, stop, watch the curves",
            Command::ToggleEvaluation => "Evaluation: confusion matrix and accuracy per detection",
            Command::ToggleHelp => "Show and change keyboard shortcuts",
            Command::CommandPalette => "Command palette",
            Command::FocusSearch => "Search objects",
            Command::ToggleOnlyUnvetted => "Show only objects not yet vetted",
            Command::CycleStretch => "Next stretch",
            Command::CycleColormap => "Next colormap",
            Command::ExportLightCurve => "Export the light curve plot (PNG or SVG)...",
            Command::ExportClassEvolution => "Export the class evolution plot (PNG or SVG)...",
            Command::ExportTrainingCurves => "Export the training curves (PNG or SVG)...",
            Command::ExportTrainingConfusion => {
                "Export the training's validation confusion matrix (PNG or SVG)..."
            }
            Command::ExportEvaluationConfusion => {
                "Export the evaluation's confusion matrix (PNG or SVG)..."
            }
            Command::LoadAllWise => "Load an AllWISE catalogue for cone searches...",
            Command::FineTune => "Fine-tune the browser's model on my labels",
            Command::SwitchModel => "Switch the browser back to the previous model",
            Command::ImportLabels => "Import labels from another tool's CSV...",
            Command::ConnectStream => "Connect to a stream...",
            Command::DisconnectStream => "Disconnect from the stream",
        }
    }

    /// The vetting label a command gives, if it is a labelling command.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Command::LabelAgn => Some("AGN"),
            Command::LabelSn => Some("SN"),
            Command::LabelVs => Some("VS"),
            Command::LabelAsteroid => Some("asteroid"),
            Command::LabelBogus => Some("bogus"),
            Command::LabelUnsure => Some("unsure"),
            _ => None,
        }
    }

    /// The name the preferences store a binding under: stable across releases, unlike the
    /// title or the position in [`Command::ALL`].
    pub fn id(self) -> String {
        format!("{self:?}")
    }

    pub fn from_id(id: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// What a view asks of the app: a user [`Command`] (a key, a menu item, a button), or a
/// change that carries its data. Views only return these; [`crate::app::StampseqApp::run_command`]
/// applies them, so that the app's state changes in one place.
#[derive(Debug, Clone)]
pub enum AppCommand {
    Run(Command),
    /// A browser row clicked.
    SelectObject(usize),
    /// An object named elsewhere (an evaluation cell's list).
    SelectObjectId(String),
    /// A detection of the selected object clicked.
    SelectDetection(usize),
    /// Files dropped on the window.
    OpenAlerts(Vec<PathBuf>),
    LoadModel(PathBuf),
    /// The physics rules switched on or off: every model answers again.
    AnswerAgain,
    CancelJobs,
    StartTraining {
        config: Box<crate::train::TrainConfig>,
        out: PathBuf,
    },
    StopTraining,
    /// Fill the training form from this session's sources and vetting labels, written to
    /// the run folder `out`.
    TrainingFromSession {
        out: PathBuf,
    },
    /// Read a labels CSV for the evaluation view.
    LoadEvaluationLabels(PathBuf),
    /// The import dialog's labels, with the file they came from.
    ImportLabels {
        labels: Vec<(String, String)>,
        source: String,
    },
    /// How sure the vetter is of a label, and the note beside it.
    SetLabelDetails {
        object_id: String,
        confidence: Option<String>,
        note: Option<String>,
    },
    /// The vetter's name changed.
    SetVetter(String),
    /// Connect pressed in the stream dialog.
    ConnectStream,
}

impl From<Command> for AppCommand {
    fn from(command: Command) -> Self {
        AppCommand::Run(command)
    }
}

/// A shortcut taken by another command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shortcut} is already used by \"{}\"", .other.title())]
pub struct ShortcutConflict {
    pub shortcut: String,
    pub other: Command,
}

/// The shortcuts in effect: the defaults with the user's changes on top. Only the changes
/// are stored, so a new default reaches users who never touched that command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Keymap {
    /// Command id -> shortcut as text ("Ctrl+Shift+O"), or "" for none.
    overrides: BTreeMap<String, String>,
}

/// Ctrl stands for Cmd on macOS (egui's `COMMAND`), so a stored keymap travels between
/// platforms.
pub fn shortcut_to_text(s: &KeyboardShortcut) -> String {
    let m = s.modifiers;
    let mut parts = Vec::new();
    if m.command || m.ctrl || m.mac_cmd {
        parts.push("Ctrl");
    }
    if m.alt {
        parts.push("Alt");
    }
    if m.shift {
        parts.push("Shift");
    }
    parts.push(s.logical_key.name());
    parts.join("+")
}

pub fn shortcut_from_text(text: &str) -> Option<KeyboardShortcut> {
    let (mods, key) = match text.rsplit_once('+') {
        // "Ctrl++" is Ctrl and the plus key.
        Some((m, "")) => (m.strip_suffix('+').unwrap_or(m), "+"),
        Some((m, k)) => (m, k),
        None => ("", text),
    };
    let mut modifiers = Modifiers::NONE;
    for m in mods.split('+').filter(|m| !m.is_empty()) {
        match m.trim().to_ascii_lowercase().as_str() {
            "ctrl" | "cmd" | "command" => modifiers |= Modifiers::COMMAND,
            "alt" | "option" => modifiers |= Modifiers::ALT,
            "shift" => modifiers |= Modifiers::SHIFT,
            _ => return None,
        }
    }
    Some(KeyboardShortcut::new(
        modifiers,
        Key::from_name(key.trim())?,
    ))
}

/// The modifiers of a key press as a binding keeps them: Ctrl and Cmd are one.
pub fn normalise_modifiers(m: Modifiers) -> Modifiers {
    let mut out = Modifiers::NONE;
    if m.command || m.ctrl || m.mac_cmd {
        out |= Modifiers::COMMAND;
    }
    if m.alt {
        out |= Modifiers::ALT;
    }
    if m.shift {
        out |= Modifiers::SHIFT;
    }
    out
}

impl Keymap {
    pub fn shortcut(&self, command: Command) -> Option<KeyboardShortcut> {
        match self.overrides.get(&command.id()) {
            Some(text) if text.is_empty() => None,
            // A binding that no longer parses (a key egui renamed) falls back to the default.
            Some(text) => shortcut_from_text(text).or_else(|| command.default_shortcut()),
            None => command.default_shortcut(),
        }
    }

    pub fn is_custom(&self, command: Command) -> bool {
        self.overrides.contains_key(&command.id())
    }

    /// The command other than `command` that `shortcut` triggers, if any.
    pub fn user_of(&self, shortcut: &KeyboardShortcut, except: Command) -> Option<Command> {
        Command::ALL
            .into_iter()
            .filter(|c| *c != except)
            .find(|c| self.shortcut(*c).as_ref() == Some(shortcut))
    }

    /// Binds `command` to `shortcut` (`None` unbinds it); a shortcut another command holds
    /// is refused, so one key never means two things.
    pub fn bind(
        &mut self,
        command: Command,
        shortcut: Option<KeyboardShortcut>,
    ) -> Result<(), ShortcutConflict> {
        if let Some(s) = &shortcut {
            if let Some(other) = self.user_of(s, command) {
                return Err(ShortcutConflict {
                    shortcut: shortcut_to_text(s),
                    other,
                });
            }
        }
        if shortcut == command.default_shortcut() {
            self.overrides.remove(&command.id());
        } else {
            let text = shortcut.as_ref().map(shortcut_to_text).unwrap_or_default();
            self.overrides.insert(command.id(), text);
        }
        Ok(())
    }

    /// Back to the default shortcut; refused if another command has taken it meanwhile.
    pub fn reset(&mut self, command: Command) -> Result<(), ShortcutConflict> {
        self.bind(command, command.default_shortcut())
    }

    pub fn reset_all(&mut self) {
        self.overrides.clear();
    }

    /// Pairs of commands sharing one shortcut. [`Keymap::bind`] never makes one, but stored
    /// preferences can (a default given to a new command that the user had taken).
    pub fn conflicts(&self) -> Vec<(Command, Command)> {
        let mut out = Vec::new();
        for (i, a) in Command::ALL.iter().enumerate() {
            let Some(sa) = self.shortcut(*a) else {
                continue;
            };
            for b in &Command::ALL[i + 1..] {
                if self.shortcut(*b) == Some(sa) {
                    out.push((*a, *b));
                }
            }
        }
        out
    }

    /// Shortcuts without Ctrl or Alt must not fire while the user types in a text field.
    pub fn is_plain_key(&self, command: Command) -> bool {
        self.shortcut(command)
            .is_some_and(|s| !(s.modifiers.command || s.modifiers.ctrl || s.modifiers.alt))
    }

    pub fn text(&self, command: Command, ctx: &egui::Context) -> String {
        self.shortcut(command)
            .map(|s| ctx.format_shortcut(&s))
            .unwrap_or_default()
    }

    /// Every bound command, the ones with more modifiers first: egui matches Ctrl+O on a
    /// Ctrl+Shift+O press too, so the more specific shortcut must be tried first.
    pub fn in_match_order(&self) -> Vec<(Command, KeyboardShortcut)> {
        let mut all: Vec<_> = Command::ALL
            .into_iter()
            .filter_map(|c| self.shortcut(c).map(|s| (c, s)))
            .collect();
        let weight = |m: Modifiers| m.command as u8 + m.ctrl as u8 + m.alt as u8 + m.shift as u8;
        all.sort_by_key(|(_, s)| std::cmp::Reverse(weight(s.modifiers)));
        all
    }
}

/// The plots that can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    LightCurve,
    ClassEvolution,
    TrainingCurves,
    TrainingConfusion,
    EvaluationConfusion,
}

impl PlotKind {
    pub fn of(command: Command) -> Option<PlotKind> {
        Some(match command {
            Command::ExportLightCurve => PlotKind::LightCurve,
            Command::ExportClassEvolution => PlotKind::ClassEvolution,
            Command::ExportTrainingCurves => PlotKind::TrainingCurves,
            Command::ExportTrainingConfusion => PlotKind::TrainingConfusion,
            Command::ExportEvaluationConfusion => PlotKind::EvaluationConfusion,
            _ => return None,
        })
    }

    pub fn command(self) -> Command {
        match self {
            PlotKind::LightCurve => Command::ExportLightCurve,
            PlotKind::ClassEvolution => Command::ExportClassEvolution,
            PlotKind::TrainingCurves => Command::ExportTrainingCurves,
            PlotKind::TrainingConfusion => Command::ExportTrainingConfusion,
            PlotKind::EvaluationConfusion => Command::ExportEvaluationConfusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_command_is_listed_once_with_a_distinct_shortcut() {
        let commands: HashSet<_> = Command::ALL.iter().collect();
        assert_eq!(commands.len(), Command::ALL.len());
        let shortcuts: Vec<_> = Command::ALL
            .iter()
            .filter_map(|c| c.default_shortcut())
            .collect();
        let distinct: HashSet<_> = shortcuts
            .iter()
            .map(|s| (s.modifiers, s.logical_key))
            .collect();
        assert_eq!(distinct.len(), shortcuts.len());
        assert!(Keymap::default().conflicts().is_empty());
        for c in Command::ALL {
            assert_eq!(Command::from_id(&c.id()), Some(c));
        }
    }

    #[test]
    fn shortcuts_read_back_from_their_text() {
        for c in Command::ALL {
            if let Some(s) = c.default_shortcut() {
                assert_eq!(shortcut_from_text(&shortcut_to_text(&s)), Some(s), "{c:?}");
            }
        }
        let plus = KeyboardShortcut::new(Modifiers::COMMAND, Key::Plus);
        assert_eq!(shortcut_from_text(&shortcut_to_text(&plus)), Some(plus));
        assert_eq!(shortcut_from_text("Ctrl++"), Some(plus));
        assert_eq!(shortcut_from_text("Hyper+K"), None);
        assert_eq!(shortcut_from_text("Ctrl+NoSuchKey"), None);
    }

    #[test]
    fn a_taken_shortcut_is_refused_and_a_free_one_bound() {
        let mut k = Keymap::default();
        let r = KeyboardShortcut::new(Modifiers::NONE, Key::R);
        let err = k
            .bind(Command::ToggleBlink, Some(r))
            .expect_err("R resets the zoom");
        assert_eq!(err.other, Command::ResetZoom);
        assert_eq!(
            err.to_string(),
            "R is already used by \"Reset zoom and pan\""
        );
        assert_eq!(
            k.shortcut(Command::ToggleBlink),
            Command::ToggleBlink.default_shortcut()
        );

        let ctrl_k = KeyboardShortcut::new(Modifiers::COMMAND, Key::K);
        k.bind(Command::ToggleBlink, Some(ctrl_k)).expect("free");
        assert_eq!(k.shortcut(Command::ToggleBlink), Some(ctrl_k));
        assert!(k.is_custom(Command::ToggleBlink));
        assert!(!k.is_plain_key(Command::ToggleBlink));
        // B is free now, so another command may have it.
        let b = KeyboardShortcut::new(Modifiers::NONE, Key::B);
        k.bind(Command::CycleColormap, Some(b))
            .expect("B was released");
        // ... and the blink cannot go back to its default while B is taken.
        assert_eq!(
            k.reset(Command::ToggleBlink).expect_err("B taken").other,
            Command::CycleColormap
        );
        k.bind(Command::ResetZoom, None)
            .expect("unbinding never conflicts");
        assert_eq!(k.shortcut(Command::ResetZoom), None);
        assert!(k.conflicts().is_empty());
        k.reset_all();
        assert_eq!(k, Keymap::default());
    }

    #[test]
    fn conflicts_in_stored_preferences_are_found() {
        // As a keymap saved by hand, or before a default changed, can hold.
        let k: Keymap =
            serde_json::from_str(r#"{"ToggleBlink": "R", "NoLongerACommand": "Q"}"#).expect("json");
        assert_eq!(
            k.conflicts(),
            vec![(Command::ToggleBlink, Command::ResetZoom)]
        );
    }

    #[test]
    fn more_specific_shortcuts_are_matched_first() {
        let order: Vec<Command> = Keymap::default()
            .in_match_order()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let pos = |c| order.iter().position(|x| *x == c).expect("bound");
        assert!(pos(Command::OpenFolder) < pos(Command::OpenFiles));
    }
}
