//! The survey seam of the models: which alerts a feature set reads and how it turns one
//! into a model's input. Everything above asks a [`FeatureSet`] instead of matching on the
//! survey.

use crate::alert::neutral::Survey;
use crate::alert::{Alert, AlertRef};
use crate::features::{lsst, neutral, tabular, FeatureStats, LSST_FEATURES, ZTF_FEATURES};

/// The fields a model was trained on, named in its header (`trained_on.feature_set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSet {
    /// ZTF `candidate` fields and the 30-day history (networks: ALeRCE's 26; trees:
    /// [`tabular::TABULAR_FEATURES`]).
    ZtfCandidate,
    /// LSST `diaSource` fields and the carried history ([`lsst::LSST_TABULAR_FEATURES`]).
    LsstDiaSource,
    /// What both surveys measure ([`neutral::NEUTRAL_TABULAR_FEATURES`]): a model trained
    /// on ZTF objects that answers LSST alerts too.
    Neutral,
}

/// Why an alert cannot be a model's input.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InputError {
    #[error(
        "a model of {set} features reads {reads} alerts, this one is a {found} alert: answered \
         by a model of its survey, or give one (--model)"
    )]
    OtherSurvey {
        set: &'static str,
        reads: &'static str,
        found: Survey,
    },
    #[error("no network reads {0} features: they are for tree models")]
    NoNetwork(&'static str),
    #[error("stamps: {0}")]
    Stamps(#[source] crate::stamp::StampError),
}

impl FeatureSet {
    /// The set a header names; headers written before stampseq recorded it are ZTF's.
    pub fn of_name(name: &str) -> Option<Self> {
        match name {
            ZTF_FEATURES | "" => Some(Self::ZtfCandidate),
            LSST_FEATURES => Some(Self::LsstDiaSource),
            neutral::NEUTRAL_FEATURES => Some(Self::Neutral),
            _ => None,
        }
    }

    /// The set of a survey's own fields: what its models read unless trained on another.
    pub fn of_survey(survey: Survey) -> Self {
        match survey {
            Survey::Ztf => Self::ZtfCandidate,
            Survey::Lsst => Self::LsstDiaSource,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ZtfCandidate => ZTF_FEATURES,
            Self::LsstDiaSource => LSST_FEATURES,
            Self::Neutral => neutral::NEUTRAL_FEATURES,
        }
    }

    /// Whether a model of this set can read alerts of `survey`.
    pub fn reads(self, survey: Survey) -> bool {
        match self {
            Self::ZtfCandidate => survey == Survey::Ztf,
            Self::LsstDiaSource => survey == Survey::Lsst,
            Self::Neutral => true,
        }
    }

    fn reads_words(self) -> &'static str {
        match self {
            Self::ZtfCandidate => "ZTF",
            Self::LsstDiaSource => "LSST",
            Self::Neutral => "ZTF and LSST",
        }
    }

    fn check(self, alert: AlertRef) -> Result<(), InputError> {
        if self.reads(alert.survey()) {
            Ok(())
        } else {
            Err(InputError::OtherSurvey {
                set: self.name(),
                reads: self.reads_words(),
                found: alert.survey(),
            })
        }
    }

    /// The feature names a tree model of this set reads, in order.
    pub fn tree_features(self) -> &'static [&'static str] {
        match self {
            Self::ZtfCandidate => &tabular::TABULAR_FEATURES,
            Self::LsstDiaSource => &lsst::LSST_TABULAR_FEATURES,
            Self::Neutral => &neutral::NEUTRAL_TABULAR_FEATURES,
        }
    }

    /// Whether a tree model of this set answers ALeRCE's five classes, the trees knowing
    /// the real ones and bogus coming from the real/bogus rule; an LSST model answers the
    /// classes it was trained on (`reliability` is one of its features, not a rule).
    pub fn trees_answer_alerce_classes(self) -> bool {
        match self {
            Self::ZtfCandidate | Self::Neutral => true,
            Self::LsstDiaSource => false,
        }
    }

    /// The rules a tree model of this set answers with, in words for its header: each as
    /// the survey's fields state it ([`super::facts`]).
    pub fn tree_rules(self) -> &'static [&'static str] {
        match self {
            Self::ZtfCandidate => &[
                "stationary: detected on two or more nights -> P(asteroid) = 0",
                "known solar-system object: ssdistnr < 5 arcsec -> asteroid",
                "real/bogus: P(bogus) = 2 (0.5 - drb), clamped, where drb exists",
            ],
            Self::LsstDiaSource => &[
                "stationary: detected on two or more nights as one diaObject -> P(asteroid) = 0",
                "known solar-system object: ssSource or an ssObjectId on the source -> asteroid",
            ],
            Self::Neutral => &[
                "stationary: detected on two or more nights at one position (ZTF objectId, LSST diaObject) -> P(asteroid) = 0",
                "known solar-system object: ZTF ssdistnr < 5 arcsec, LSST ssSource or ssObjectId -> asteroid",
                "real/bogus: P(bogus) = 2 (0.5 - score), clamped (ZTF drb, LSST reliability)",
            ],
        }
    }

    /// A tree model's row for `alert`, given the object's alerts loaded before it.
    pub fn tree_row(self, alert: AlertRef, earlier: &[AlertRef]) -> Result<Vec<f32>, InputError> {
        self.check(alert)?;
        Ok(match self {
            Self::ZtfCandidate => {
                let z = alert.ztf().ok_or(InputError::NoNetwork(self.name()))?;
                let earlier: Vec<&Alert> = earlier.iter().filter_map(|a| a.ztf()).collect();
                tabular::tabular_features(z, &earlier)
            }
            // An LSST alert carries its whole history: its features never depend on which
            // other alerts were loaded.
            Self::LsstDiaSource => match alert.lsst() {
                Some(l) => lsst::lsst_features(l),
                None => return Err(InputError::NoNetwork(self.name())),
            },
            Self::Neutral => neutral::neutral_features(alert, earlier),
        })
    }

    /// The names of a network's raw features in this set: the configured `candidate`
    /// fields (`ztf_fields`) for ZTF, the `diaSource` ones for LSST; none for the neutral
    /// set, which has no network.
    pub fn raw_network_features(self, ztf_fields: &[String]) -> Vec<String> {
        match self {
            Self::ZtfCandidate => ztf_fields.to_vec(),
            Self::LsstDiaSource => lsst::LSST_TABULAR_FEATURES
                .iter()
                .map(|n| n.to_string())
                .collect(),
            Self::Neutral => Vec::new(),
        }
    }

    /// A network's input for `alert`: its stamps (crop x crop x 3) and its features,
    /// normalised with the model's statistics.
    pub fn network_input(
        self,
        alert: AlertRef,
        crop: usize,
        stats: &FeatureStats,
    ) -> Result<(Vec<f32>, Vec<f32>), InputError> {
        self.check(alert)?;
        let stamps = InputError::Stamps;
        match (self, alert) {
            (Self::ZtfCandidate, AlertRef::Ztf(a)) => {
                let s = crate::stamp::model_stamps(&a.cutouts, Some(&a.candidate), crop)
                    .map_err(stamps)?;
                let (_, norm) = stats.features(&a.candidate);
                Ok((s.pixels, norm.into_iter().map(|v| v as f32).collect()))
            }
            (Self::LsstDiaSource, AlertRef::Lsst(a)) => {
                let s = crate::stamp::lsst_model_stamps(&a.cutouts, crop).map_err(stamps)?;
                let raw: Vec<f64> = lsst::lsst_features(a).into_iter().map(f64::from).collect();
                let norm = stats.normalize(&raw);
                Ok((s.pixels, norm.into_iter().map(|v| v as f32).collect()))
            }
            _ => Err(InputError::NoNetwork(self.name())),
        }
    }
}

/// A network's training input for `alert` in its own survey's set, before normalisation:
/// its stamps (crop x crop x 3) and the raw features of
/// [`FeatureSet::raw_network_features`].
pub fn own_raw_network_input(
    alert: AlertRef,
    crop: usize,
    ztf_fields: &[String],
) -> Result<(Vec<f32>, Vec<f64>), crate::stamp::StampError> {
    match alert {
        AlertRef::Ztf(a) => {
            let s = crate::stamp::model_stamps(&a.cutouts, Some(&a.candidate), crop)?;
            Ok((s.pixels, super::raw_features(&a.candidate, ztf_fields)))
        }
        AlertRef::Lsst(a) => {
            let s = crate::stamp::lsst_model_stamps(&a.cutouts, crop)?;
            let raw = lsst::lsst_features(a).into_iter().map(f64::from).collect();
            Ok((s.pixels, raw))
        }
    }
}
