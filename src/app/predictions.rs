//! Class probabilities that models produced for the loaded objects: for each model, for
//! each object, the probabilities after each detection (the class evolution).

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ModelPredictions {
    /// The model as the app names it: see [`display_name`].
    pub model: String,
    pub classes: Vec<String>,
    /// objectId -> probabilities after detection 1..N.
    pub by_object: HashMap<String, Vec<Vec<f32>>>,
    /// objectId -> the ensemble's spread after detection 1..N, for models that have one.
    pub spread: HashMap<String, Vec<Spread>>,
    /// Objects whose answers are transferred: the model learnt from another survey's
    /// labelled alerts (the neutral model on LSST objects), unvalidated on theirs.
    pub transferred: std::collections::HashSet<String>,
    /// How the model reads an alert's ALeRCE features (the details view shows them so),
    /// for the networks that read them.
    pub feature_stats: Option<std::sync::Arc<crate::features::FeatureStats>>,
}

impl ModelPredictions {
    /// Every answer of this model is transferred from another survey's training.
    pub fn stands_in(&self) -> bool {
        !self.by_object.is_empty() && self.transferred.len() == self.by_object.len()
    }
}

/// How sure a model with an ensemble is of one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spread {
    /// Standard deviation of each class probability over the members.
    pub std: Vec<f32>,
    /// Fraction of members whose top class differs.
    pub disagreement: f32,
}

/// A model file's name without its extension: what the user chose and sees in the file
/// dialog. The header's name says only the architecture (every GRU trained on N = 5 is
/// "tsc-gru-n5"), so two files would look alike; it is the fallback for a path with no name.
pub fn display_name(path: &std::path::Path, header_name: &str) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| header_name.to_string())
}

#[derive(Debug, Clone, Default)]
pub struct Predictions {
    pub models: Vec<ModelPredictions>,
    /// Counts the changes, so that the browser knows when to sort and filter again.
    pub revision: u64,
}

impl Predictions {
    /// The model whose answer the browser shows for an object: the first that answered it
    /// (a ZTF and an LSST model answer different objects).
    fn answering(&self, object_id: &str) -> Option<&ModelPredictions> {
        self.models
            .iter()
            .find(|m| m.by_object.contains_key(object_id))
    }

    /// Adds a model's predictions, or replaces those of a model of the same name.
    pub fn insert(&mut self, predictions: ModelPredictions) {
        match self
            .models
            .iter_mut()
            .find(|m| m.model == predictions.model)
        {
            Some(m) => *m = predictions,
            // A model whose every answer is transferred (the neutral model standing in for
            // LSST) goes after the others: the browser's model stays the user's.
            None if predictions.stands_in() => self.models.push(predictions),
            None => {
                let at = self
                    .models
                    .iter()
                    .position(ModelPredictions::stands_in)
                    .unwrap_or(self.models.len());
                self.models.insert(at, predictions);
            }
        }
        self.revision += 1;
    }

    /// The answering model's uncertainty after the object's last detection (the spread of its
    /// top class), and whether the answer is uncertain or unusual (see
    /// [`crate::classify::answer_uncertainty`]).
    pub fn uncertainty(&self, object_id: &str) -> Option<(f32, bool)> {
        let m = self.answering(object_id)?;
        let probs = m.by_object.get(object_id)?.last()?;
        let spread = m.spread.get(object_id).and_then(|s| s.last());
        let (u, uncertain) = crate::classify::answer_uncertainty(
            probs,
            spread.map_or(&[][..], |s| &s.std),
            spread.map(|s| s.disagreement),
        );
        Some((u.unwrap_or(f32::NAN), uncertain))
    }

    /// How much vetting this object would teach the answering model: its top class's shortfall
    /// from certainty plus the ensemble's spread on it (as `stampseq bench active` ranks).
    pub fn informativeness(&self, object_id: &str) -> Option<f32> {
        let m = self.answering(object_id)?;
        let p = m.by_object.get(object_id)?.last()?;
        let top = crate::model::probs::argmax(p)?;
        let spread = m
            .spread
            .get(object_id)
            .and_then(|s| s.last())
            .and_then(|s| s.std.get(top).copied())
            .unwrap_or(0.0);
        Some(1.0 - p[top] + spread)
    }

    /// The answering model's probability of `class` after the object's last detection.
    pub fn class_probability(&self, object_id: &str, class: &str) -> Option<f32> {
        let m = self.answering(object_id)?;
        let c = m.classes.iter().position(|k| k == class)?;
        m.by_object.get(object_id)?.last()?.get(c).copied()
    }

    /// Makes the model named `name` the first, whose answers the browser shows. Returns
    /// whether it was loaded.
    pub fn promote(&mut self, name: &str) -> bool {
        match self.models.iter().position(|m| m.model == name) {
            Some(i) => {
                let m = self.models.remove(i);
                self.models.insert(0, m);
                self.revision += 1;
                true
            }
            None => false,
        }
    }

    /// The answering model's two most probable classes after the object's last detection, with
    /// their probabilities: why an answer is uncertain.
    pub fn hesitation(&self, object_id: &str) -> Option<[(&str, f32); 2]> {
        let m = self.answering(object_id)?;
        let p = m.by_object.get(object_id)?.last()?;
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
        let (a, b) = (*order.first()?, *order.get(1)?);
        Some([
            (m.classes.get(a)?.as_str(), p[a]),
            (m.classes.get(b)?.as_str(), p[b]),
        ])
    }

    /// Whether the answer [`Self::top_class`] gives for the object is transferred from
    /// another survey's training.
    pub fn is_transferred(&self, object_id: &str) -> bool {
        self.models
            .iter()
            .find(|m| m.by_object.contains_key(object_id))
            .is_some_and(|m| m.transferred.contains(object_id))
    }

    /// How the first model that reads an alert's ALeRCE features reads them (the details
    /// view shows them so): the browser's model first.
    pub fn feature_stats(&self) -> Option<&crate::features::FeatureStats> {
        self.models.iter().find_map(|m| m.feature_stats.as_deref())
    }

    /// The answering model's answer after the object's last detection.
    pub fn top_class(&self, object_id: &str) -> Option<(&str, f32)> {
        // The first model that answered this object: a ZTF and an LSST model answer
        // different objects.
        let (m, last) = self
            .models
            .iter()
            .find_map(|m| Some((m, m.by_object.get(object_id)?.last()?)))?;
        let best = crate::model::probs::argmax(last)?;
        Some((m.classes.get(best)?.as_str(), last[best]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn models_are_named_by_their_files() {
        let header = "tsc-gru-n5";
        assert_eq!(
            display_name(Path::new("runs/tsc-gru-real.stampseq"), header),
            "tsc-gru-real"
        );
        assert_eq!(
            display_name(Path::new("/m/tsc-gru-sim.stampseq"), header),
            "tsc-gru-sim"
        );
        assert_eq!(display_name(Path::new(""), header), header);
    }
}
