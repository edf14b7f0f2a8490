"""The texts that say where an approved dossier's package stands (built by the worker)."""

VI = {
    "packaging.pending": "Đang đóng gói hồ sơ; gói sẽ tự động được gửi lên kho lưu trữ.",
    "packaging.retrying": "Đóng gói lỗi, máy sẽ tự thử lại (đã thử {attempt}/{attempts} lần): {error}",
    "packaging.failed": "Đóng gói lỗi: {error}. Hãy báo cho quản trị viên.",
}

EN = {
    "packaging.pending": "Packaging the dossier; the package will be sent to the archive by itself.",
    "packaging.retrying": "Packaging failed; the box will try again (attempt {attempt} of {attempts}): {error}",
    "packaging.failed": "Packaging failed: {error}. Tell the administrator.",
}
