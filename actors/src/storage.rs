pub enum StorageMsg {}
