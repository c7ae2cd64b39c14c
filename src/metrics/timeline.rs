/// Per-bucket counters over simulated time.
pub struct Timeline {
    pub rows: Vec<TimelineRow>,
}

#[derive(Clone, Debug, Default)]
pub struct TimelineRow {}
