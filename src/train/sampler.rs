//! How a training batch is drawn from the training objects: uniformly, one class after
//! another, or one class and then one of its source groups.

use rand::rngs::StdRng;
use rand::RngExt;
use std::collections::{BTreeMap, HashMap};

use super::dataset::Object;

/// Draws the objects of each batch.
pub struct Sampler<'a> {
    all: &'a [&'a Object],
    /// Per class, its objects split by source group (one group when none are given), the
    /// groups in name order.
    by_class: Vec<Vec<Vec<&'a Object>>>,
    present: Vec<usize>,
}

impl<'a> Sampler<'a> {
    /// `groups` names the source group of an object (by id); objects it does not list form
    /// one group of their own per class. Without `groups`, one group per class.
    pub fn new(
        all: &'a [&'a Object],
        classes: usize,
        groups: Option<&HashMap<String, String>>,
    ) -> Self {
        let mut grouped: Vec<BTreeMap<&str, Vec<&Object>>> = vec![BTreeMap::new(); classes];
        for o in all {
            let group = groups
                .and_then(|g| g.get(&o.object_id))
                .map_or("", String::as_str);
            grouped[o.class].entry(group).or_default().push(o);
        }
        let by_class: Vec<Vec<Vec<&Object>>> = grouped
            .into_iter()
            .map(|g| g.into_values().collect())
            .collect();
        let present: Vec<usize> = (0..by_class.len())
            .filter(|&c| !by_class[c].is_empty())
            .collect();
        Self {
            all,
            by_class,
            present,
        }
    }

    /// `size` objects, drawn with replacement: with `balance_classes`, a class drawn
    /// uniformly, then (where it spans several source groups) one of its groups uniformly,
    /// then one of that group's objects; so that in what the network sees no group's share
    /// of a class tells the class. Otherwise uniformly among all objects.
    pub fn batch(&self, size: usize, balance_classes: bool, rng: &mut StdRng) -> Vec<&'a Object> {
        (0..size)
            .map(|_| {
                if balance_classes {
                    let c = self.present[rng.random_range(0..self.present.len())];
                    let groups = &self.by_class[c];
                    // One group draws nothing: runs without groups repeat earlier ones.
                    let g = if groups.len() > 1 {
                        rng.random_range(0..groups.len())
                    } else {
                        0
                    };
                    groups[g][rng.random_range(0..groups[g].len())]
                } else {
                    self.all[rng.random_range(0..self.all.len())]
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn object(id: &str, class: usize) -> Object {
        Object::one_step(id, class)
    }

    #[test]
    fn each_group_of_a_class_is_drawn_as_often_however_many_objects_it_holds() {
        // Class 0: nine objects of group a, one of group b; class 1: one group.
        let mut objects: Vec<Object> = (0..9).map(|i| object(&format!("a{i}"), 0)).collect();
        objects.push(object("b0", 0));
        objects.extend((0..5).map(|i| object(&format!("c{i}"), 1)));
        let refs: Vec<&Object> = objects.iter().collect();
        let groups: HashMap<String, String> = objects
            .iter()
            .map(|o| (o.object_id.clone(), o.object_id[..1].to_string()))
            .collect();
        let mut rng = StdRng::seed_from_u64(3);
        let drawn = Sampler::new(&refs, 2, Some(&groups)).batch(20_000, true, &mut rng);
        let count = |p: &str| drawn.iter().filter(|o| o.object_id.starts_with(p)).count();
        let (a, b, c) = (count("a"), count("b"), count("c"));
        assert!((4_500..5_500).contains(&a), "group a {a}");
        assert!((4_500..5_500).contains(&b), "group b {b}");
        assert!((9_500..10_500).contains(&c), "class 1 {c}");
        // Without groups, b0 is one object of ten in its class.
        let mut rng = StdRng::seed_from_u64(3);
        let plain = Sampler::new(&refs, 2, None).batch(20_000, true, &mut rng);
        let b_plain = plain.iter().filter(|o| o.object_id == "b0").count();
        assert!(
            (700..1_300).contains(&b_plain),
            "b0 without groups {b_plain}"
        );
    }

    #[test]
    fn groups_that_split_no_class_draw_as_no_groups_do() {
        let objects: Vec<Object> = (0..6).map(|i| object(&format!("o{i}"), i % 2)).collect();
        let refs: Vec<&Object> = objects.iter().collect();
        let one: HashMap<String, String> = objects
            .iter()
            .map(|o| (o.object_id.clone(), "same".to_string()))
            .collect();
        let ids = |s: Vec<&Object>| s.iter().map(|o| o.object_id.clone()).collect::<Vec<_>>();
        let with =
            Sampler::new(&refs, 2, Some(&one)).batch(50, true, &mut StdRng::seed_from_u64(9));
        let without = Sampler::new(&refs, 2, None).batch(50, true, &mut StdRng::seed_from_u64(9));
        assert_eq!(ids(with), ids(without));
    }
}
