"""Texts of the language switch (each language names itself, so it is found in either) and of
core errors whose English is for the log only."""

VI = {
    "language.label": "Ngôn ngữ",
    "language.vi": "Tiếng Việt",
    "language.en": "English",
    "language.apply": "Đổi",
    "language.error_generic": "Hộp không thực hiện được việc này. Chi tiết có trong nhật ký của hộp.",
}

EN = {
    "language.label": "Language",
    "language.vi": "Tiếng Việt",
    "language.en": "English",
    "language.apply": "Switch",
    "language.error_generic": "The box could not do this. The details are in the box's log.",
}
