-- Device pulls read the change log of one merchant in `seq` order from a cursor: without this
-- index SQLite sorted all of the merchant's changes for every page.
CREATE INDEX changes_cursor ON changes (merchant_id, seq);
