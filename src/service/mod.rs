//! Service models.
