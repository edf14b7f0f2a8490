"""The language switch's texts (each language names itself, so it is found in either)."""

VI = {
    "language.label": "Ngôn ngữ",
    "language.vi": "Tiếng Việt",
    "language.en": "English",
    "language.apply": "Đổi",
}

EN = {
    "language.label": "Language",
    "language.vi": "Tiếng Việt",
    "language.en": "English",
    "language.apply": "Switch",
}
