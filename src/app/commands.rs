//! Every user action is a [`Command`] with its keyboard shortcut, so that the help overlay
//! and the command palette are generated from one list, never kept by hand.

use egui::{Key, KeyboardShortcut, Modifiers};

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
}

impl Command {
    pub const ALL: [Command; 33] = [
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
    ];

    pub fn shortcut(self) -> Option<KeyboardShortcut> {
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
            Command::ToggleHelp => "Show keyboard shortcuts",
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

    /// Shortcuts that are plain keys must not fire while the user types in a text field.
    pub fn is_plain_key(self) -> bool {
        self.shortcut().is_some_and(|s| s.modifiers.is_none())
    }

    pub fn shortcut_text(self, ctx: &egui::Context) -> String {
        self.shortcut()
            .map(|s| ctx.format_shortcut(&s))
            .unwrap_or_default()
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
        let shortcuts: Vec<_> = Command::ALL.iter().filter_map(|c| c.shortcut()).collect();
        let distinct: HashSet<_> = shortcuts
            .iter()
            .map(|s| (s.modifiers, s.logical_key))
            .collect();
        assert_eq!(distinct.len(), shortcuts.len());
    }
}
