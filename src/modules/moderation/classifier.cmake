# The spam classifier (hashed character n-grams + logistic regression), its tests and nothing
# else; included from src/modules/CMakeLists.txt until the moderation module's own
# CMakeLists.txt folds it in.
add_library(qz_spam_classifier ${CMAKE_CURRENT_LIST_DIR}/classifier.cpp)
target_link_libraries(qz_spam_classifier PUBLIC qz_core PRIVATE qz_warnings)
qz_test(qz_spam_classifier_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/classifier_test.cpp
        LIBS qz_spam_classifier)
