"""The texts of the document forms and the review screen (kiểm duyệt)."""

VI = {
    "documents.new": "Thêm tài liệu",
    "documents.new_title": "Tài liệu mới",
    "documents.edit": "Sửa tài liệu",
    "documents.show": "Xem thông tin tài liệu",
    "documents.edit_title": "Tài liệu {doc}",
    "documents.back": "Về hồ sơ {code}",
    "documents.create": "Tạo tài liệu",
    "documents.created": "Đã tạo tài liệu {doc}.",
    "documents.saved": "Đã lưu tài liệu {doc}.",
    "documents.fields": "Thông tin tài liệu (TT05)",
    "documents.inherited": "Để trống thì tài liệu lấy theo hồ sơ:",
    "documents.needed": "Để duyệt, tài liệu này còn thiếu:",
    "documents.readonly": "Hồ sơ không còn ở trạng thái nháp hoặc bị trả lại nên không sửa được.",
    "documents.form_stale": "Biểu mẫu đã cũ, không rõ là của tài liệu nào nên chưa lưu gì. Hãy mở "
                            "lại tài liệu từ trang hồ sơ; những gì bạn đã gõ vẫn ở bên dưới.",
    "documents.renumbered": "Trong lúc bạn sửa, có người đã tách hoặc gộp tài liệu: tài liệu bạn "
                            "đang sửa nay là {now}, không còn là {doc}. Chưa lưu gì; hãy kiểm tra "
                            "rồi bấm Lưu lại.",
    "documents.gone": "Tài liệu bạn đang sửa không còn nữa (có người đã gộp hoặc bỏ nó) nên chưa "
                      "lưu gì. Những gì bạn đã gõ vẫn ở bên dưới; {doc} bây giờ là tài liệu khác.",
    "review.open": "Kiểm duyệt",
    "review.title": "Kiểm duyệt hồ sơ {code}",
    "review.to_dossier": "Về trang hồ sơ",
    "review.pages": "Chuyển trang",
    "review.prev": "Trang trước",
    "review.next": "Trang sau",
    "review.position": "Trang {n}/{total} · tài liệu {doc}, trang {position}",
    "review.goto": "Đến trang",
    "review.go": "Đi",
    "review.keys": "Phím ← → để chuyển trang",
    "review.image_alt": "Ảnh trang {n}",
    "review.ocr": "Chữ nhận dạng (OCR)",
    "review.unprocessed": "Trang chưa được nhận dạng chữ xong. Hãy quay lại sau ít phút.",
    "review.low_count": "{count} từ có độ tin cậy dưới {threshold}% được tô vàng, cả trên ảnh.",
    "review.confidence": "Độ tin cậy: {value}%",
    "review.correct": "Sửa văn bản của trang",
    "review.save": "Lưu văn bản",
    "review.save_keys": "Ctrl + Enter để lưu",
    "review.corrected_by": "Đã sửa bởi {who} lúc {at}. Văn bản OCR gốc vẫn được giữ.",
    "review.outdated": "Có bản sửa cũ làm trên kết quả OCR trước; trang đã được xử lý lại nên bản sửa đó không còn dùng.",
    "review.cannot_correct_in_review": "Hồ sơ đang kiểm duyệt: chỉ người kiểm duyệt được sửa văn bản.",
    "review.cannot_correct_state": "Hồ sơ ở trạng thái này không sửa được văn bản.",
    "review.text_corrected": "Đã lưu văn bản sửa của trang {n}; tìm kiếm dùng văn bản mới.",
    "review.text_reverted": "Văn bản trang {n} trở lại như kết quả OCR.",
    "review.text_unchanged": "Văn bản trang {n} không thay đổi.",
    "review.no_pages": "Hồ sơ chưa có trang nào để kiểm duyệt.",
    "review.problems": "Còn {count} điều cần bổ sung trước khi duyệt",
    "review.decision": "Kết quả kiểm duyệt",
    "review.comment_needed": "Hãy ghi lý do trả lại (tối đa {limit} ký tự).",
    "review.form_stale": "Biểu mẫu sửa văn bản đã cũ, không rõ là của trang nào nên chưa lưu gì. "
                         "Văn bản bạn đã gõ ở bên dưới: hãy chép lại vào ô sửa rồi lưu.",
    "review.page_moved": "Trong lúc bạn sửa, có người đã sắp xếp lại trang: trang bạn sửa nay là "
                         "trang {now}, không còn là trang {n}. Chưa lưu gì; hãy xem lại rồi lưu.",
    "review.page_gone": "Trang bạn sửa không còn trong hồ sơ (có người đã xóa hoặc chuyển nó đi) "
                        "nên chưa lưu gì. Văn bản bạn đã gõ ở bên dưới; trang {n} bây giờ là một "
                        "trang khác.",
    "review.unsaved": "Văn bản bạn đã gõ (chưa lưu)",
}

EN = {
    "documents.new": "Add document",
    "documents.new_title": "New document",
    "documents.edit": "Edit document",
    "documents.show": "Document details",
    "documents.edit_title": "Document {doc}",
    "documents.back": "Back to dossier {code}",
    "documents.create": "Create document",
    "documents.created": "Document {doc} created.",
    "documents.saved": "Document {doc} saved.",
    "documents.fields": "Document fields (TT05)",
    "documents.inherited": "Left empty, the document takes the dossier's:",
    "documents.needed": "To be approved, this document still needs:",
    "documents.readonly": "The dossier is no longer a draft or returned, so it cannot be changed.",
    "documents.form_stale": "This form is out of date and does not say which document it was "
                            "for, so nothing was saved. Open the document again from the dossier; "
                            "what you typed is still below.",
    "documents.renumbered": "Someone split or merged documents while you were editing: your "
                            "document is now {now}, no longer {doc}. Nothing was saved; check it "
                            "and save again.",
    "documents.gone": "The document you were editing no longer exists (someone merged or removed "
                      "it), so nothing was saved. What you typed is still below; {doc} is now "
                      "another document.",
    "review.open": "Review",
    "review.title": "Review of dossier {code}",
    "review.to_dossier": "Back to the dossier",
    "review.pages": "Pages",
    "review.prev": "Previous page",
    "review.next": "Next page",
    "review.position": "Page {n}/{total} · document {doc}, page {position}",
    "review.goto": "Go to page",
    "review.go": "Go",
    "review.keys": "Keys ← → change page",
    "review.image_alt": "Image of page {n}",
    "review.ocr": "Recognised text (OCR)",
    "review.unprocessed": "The page has not been read yet. Come back in a few minutes.",
    "review.low_count": "{count} words under {threshold}% confidence are marked, on the image too.",
    "review.confidence": "Confidence: {value}%",
    "review.correct": "Correct the page's text",
    "review.save": "Save text",
    "review.save_keys": "Ctrl + Enter saves",
    "review.corrected_by": "Corrected by {who} at {at}. The original OCR text is kept.",
    "review.outdated": "An earlier correction was made on a previous OCR result; the page was processed again, so it no longer applies.",
    "review.cannot_correct_in_review": "The dossier is in review: only a reviewer may correct its text.",
    "review.cannot_correct_state": "The text cannot be corrected in this state.",
    "review.text_corrected": "Corrected text of page {n} saved; search uses it.",
    "review.text_reverted": "Page {n} is back to its OCR text.",
    "review.text_unchanged": "Page {n}'s text did not change.",
    "review.no_pages": "This dossier has no pages to review yet.",
    "review.problems": "{count} things to complete before approval",
    "review.decision": "Review decision",
    "review.comment_needed": "Say why the dossier is returned (at most {limit} characters).",
    "review.form_stale": "This correction form is out of date and does not say which page it was "
                         "for, so nothing was saved. Your text is below: copy it into the box and "
                         "save.",
    "review.page_moved": "Someone rearranged the pages while you were correcting: your page is now "
                         "page {now}, no longer page {n}. Nothing was saved; check it and save.",
    "review.page_gone": "The page you corrected is no longer in this dossier (someone deleted or "
                        "moved it), so nothing was saved. Your text is below; page {n} is now "
                        "another page.",
    "review.unsaved": "The text you typed (not saved)",
}
