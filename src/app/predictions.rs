//! Class probabilities that models produced for the loaded objects: for each model, for
//! each object, the probabilities after each detection (the class evolution).

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ModelPredictions {
    pub model: String,
    pub classes: Vec<String>,
    /// objectId -> probabilities after detection 1..N.
    pub by_object: HashMap<String, Vec<Vec<f32>>>,
}

#[derive(Debug, Clone, Default)]
pub struct Predictions {
    pub models: Vec<ModelPredictions>,
}

impl Predictions {
    /// The first model's answer after the object's last detection.
    pub fn top_class(&self, object_id: &str) -> Option<(&str, f32)> {
        let m = self.models.first()?;
        let last = m.by_object.get(object_id)?.last()?;
        let best = crate::eval::metrics::argmax(last)?;
        Some((m.classes.get(best)?.as_str(), last[best]))
    }
}
