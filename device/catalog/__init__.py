"""Operations on dossiers and documents: validate, store, audit and move through the lifecycle."""
